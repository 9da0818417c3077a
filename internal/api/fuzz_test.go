package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws/credentials"
	v4 "github.com/aws/aws-sdk-go/aws/signer/v4"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/sigv4"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/token"
)

// validator is every request input.
type validator interface{ Validate() error }

// inputs returns a fresh value of each operation's input, by index.
func inputs() []func() validator {
	return []func() validator{
		func() validator { return &model.CreateMeetingInput{} },
		func() validator { return &model.CreateMeetingWithAttendeesInput{} },
		func() validator { return &model.CreateAttendeeInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f"} },
		func() validator {
			return &model.BatchCreateAttendeeInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f"}
		},
		func() validator {
			return &model.UpdateAttendeeCapabilitiesInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f", AttendeeId: "01a21db6-2c58-7b21-9f77-de46597f739f"}
		},
		func() validator {
			return &model.BatchUpdateAttendeeCapabilitiesExceptInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f"}
		},
		func() validator {
			return &model.StartMeetingTranscriptionInput{MeetingId: "01a21db6-2c58-7b21-9f77-de46597f739f"}
		},
		func() validator { return &model.TagResourceInput{} },
		func() validator { return &model.UntagResourceInput{} },
	}
}

// FuzzDecodeAndValidate feeds arbitrary bodies to every operation's decoder
// and validation: neither may panic, and every refusal is a BadRequest.
func FuzzDecodeAndValidate(f *testing.F) {
	seeds := []string{
		`{"ClientRequestToken":"tok-1","MediaRegion":"us-east-1","ExternalMeetingId":"x"}`,
		`{"ClientRequestToken":"tok-1","MediaRegion":"us-east-1","ExternalMeetingId":"x","MeetingFeatures":{"Video":{"MaxResolution":"FHD"},"Attendee":{"MaxCount":25}},"TenantIds":["aaaab"],"Tags":[{"Key":"k","Value":"v"}]}`,
		`{"Attendees":[{"ExternalUserId":"alice","Capabilities":{"Audio":"Send","Video":"None","Content":"None"}}]}`,
		`{"ExternalUserId":"«ü»","Capabilities":{"Audio":"SendReceive","Video":"Receive","Content":"Receive"}}`,
		`{"ExcludedAttendeeIds":[{"AttendeeId":"01a21db6-2c58-7b21-9f77-de46597f739f"}],"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`,
		`{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"LanguageCode":"en-US","PiiEntityTypes":"NAME"}}}`,
		`{"ResourceARN":"arn:aws:chime:us-east-1:000000000000:meeting/01a21db6-2c58-7b21-9f77-de46597f739f","Tags":[],"TagKeys":["a"]}`,
		`{"NotificationsConfiguration":{"SqsQueueArn":"arn:aws:sqs:us-east-1:1:q"}}`,
		`[]`, `null`, `{"Attendees":[null]}`, `{"Tags":[{}]}`, "\xff",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	ops := inputs()
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		in := ops[int(op)%len(ops)]()
		err := decodeBody(body, in)
		if err == nil {
			err = in.Validate()
		}
		if err == nil {
			return
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != apierr.BadRequest || ae.Message == "" {
			t.Fatalf("refusal is not a BadRequest: %#v", err)
		}
	})
}

// FuzzHandler sends signed requests with arbitrary methods, paths, queries
// and bodies through the whole API on a throwaway store: every answer is an
// AWS-shaped response below 500, and the server keeps working.
func FuzzHandler(f *testing.F) {
	st, err := sqlite.Open(context.Background(), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	keys, err := token.Ephemeral()
	if err != nil {
		f.Fatal(err)
	}
	reg := accounts.NewLocal()
	svc := meetings.New(meetings.DefaultConfig(), meetings.Deps{Store: st, Keys: keys})
	h := New(Config{Service: svc, Verifier: sigv4.NewVerifier(sigv4.Config{Service: "chime", Credentials: reg}), Accounts: reg})
	m, err := svc.CreateMeeting(context.Background(), meetings.Caller{AccountID: "000000000000", Region: "us-east-1"},
		&model.CreateMeetingInput{ClientRequestToken: "fuzz-1", MediaRegion: "us-east-1", ExternalMeetingId: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	mid := m.MeetingId
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/meetings", `{"ClientRequestToken":"tok-2","MediaRegion":"us-east-1","ExternalMeetingId":"x"}`},
		{"POST", "/meetings?operation=create-attendees", `{"ClientRequestToken":"tok-3","MediaRegion":"us-east-1","ExternalMeetingId":"x","Attendees":[{"ExternalUserId":"ab"}]}`},
		{"GET", "/meetings/" + mid, ``},
		{"POST", "/meetings/" + mid + "/attendees", `{"ExternalUserId":"alice"}`},
		{"POST", "/meetings/" + mid + "/attendees?operation=batch-create", `{"Attendees":[{"ExternalUserId":"bob"}]}`},
		{"GET", "/meetings/" + mid + "/attendees?max-results=2&next-token=abc", ``},
		{"PUT", "/meetings/" + mid + "/attendees/capabilities?operation=batch-update-except", `{"ExcludedAttendeeIds":[{"AttendeeId":"` + mid + `"}],"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`},
		{"POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"LanguageCode":"en-US"}}}`},
		{"POST", "/tags?operation=tag-resource", `{"ResourceARN":"` + m.MeetingArn + `","Tags":[{"Key":"a","Value":"b"}]}`},
		{"GET", "/tags?arn=" + url.QueryEscape(m.MeetingArn), ``},
		{"DELETE", "/meetings/" + mid + "/attendees/" + mid, ``},
		{"PATCH", "/x/%41/../y?operation=", `{`},
	} {
		f.Add(s.method, s.path, []byte(s.body))
	}
	signer := v4.NewSigner(credentials.NewStaticCredentials("test", "test", ""))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		req, err := http.NewRequest(method, "http://carillon.test"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if _, err := signer.Sign(req, bytes.NewReader(body), "chime", "us-east-1", time.Now()); err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: %d %s", method, path, res.StatusCode, rec.Body.Bytes())
		}
		if res.Header.Get("x-amzn-RequestId") == "" {
			t.Fatal("no x-amzn-RequestId")
		}
		if res.StatusCode >= 400 {
			var e errorBody
			if res.Header.Get("x-amzn-ErrorType") == "" || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %q: error not AWS-shaped: %d %v %s", method, path, res.StatusCode, res.Header, rec.Body.Bytes())
			}
		}
	})
}
