package api

import (
	"testing"

	"github.com/carillon-dev/carillon/internal/model"
)

func BenchmarkDecodeValidateCreateAttendee(b *testing.B) {
	body := []byte(`{"ExternalUserId":"user-123456","Capabilities":{"Audio":"SendReceive","Video":"Receive","Content":"None"}}`)
	b.ReportAllocs()
	for b.Loop() {
		in := model.CreateAttendeeInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f"}
		if err := decodeBody(body, &in); err != nil {
			b.Fatal(err)
		}
		if err := in.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeValidateBatch100(b *testing.B) {
	body := []byte(`{"Attendees":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"ExternalUserId":"user-`...)
		body = append(body, byte('a'+i%26), byte('a'+i/26))
		body = append(body, `"}`...)
	}
	body = append(body, "]}"...)
	b.ReportAllocs()
	for b.Loop() {
		in := model.BatchCreateAttendeeInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f"}
		if err := decodeBody(body, &in); err != nil {
			b.Fatal(err)
		}
		if err := in.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeValidateCreateMeeting(b *testing.B) {
	body := []byte(`{"ClientRequestToken":"0f8fad5b-d9cb-469f-a165-70867728950e","MediaRegion":"us-east-1","ExternalMeetingId":"standup",
		"MeetingFeatures":{"Audio":{"EchoReduction":"AVAILABLE"},"Video":{"MaxResolution":"HD"}},"Tags":[{"Key":"team","Value":"blue"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		var in model.CreateMeetingInput
		if err := decodeBody(body, &in); err != nil {
			b.Fatal(err)
		}
		if err := in.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
