package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestValidationRules sends requests that break one rule each, as raw JSON
// (the SDKs check some rules themselves), and expects a BadRequest that
// names the field. Nothing may be stored by a refused request.
func TestValidationRules(t *testing.T) {
	e := start(t)
	video := e.createMeeting("no-video-meeting")
	noVideo := e.do("POST", "/meetings", []byte(`{"ClientRequestToken":"nv-1","MediaRegion":"us-east-1","ExternalMeetingId":"nv",
		"MeetingFeatures":{"Video":{"MaxResolution":"None"},"Content":{"MaxResolution":"None"}}}`), true).json(t)["Meeting"].(map[string]any)["MeetingId"].(string)
	mid := *video.MeetingId
	attendee := e.createAttendee(mid, "someone")
	aid := *attendee.AttendeeId

	meeting := func(fields string) string {
		return `{"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"ext"` + fields + `}`
	}
	caps := func(a, v, c string) string {
		return fmt.Sprintf(`{"ExternalUserId":"user-1","Capabilities":{"Audio":%q,"Video":%q,"Content":%q}}`, a, v, c)
	}
	long := strings.Repeat("x", 65)
	cases := []struct {
		name, method, path, body, fragment string
	}{
		{"token missing", "POST", "/meetings", `{"MediaRegion":"us-east-1","ExternalMeetingId":"ext"}`, "clientRequestToken"},
		{"token too short", "POST", "/meetings", `{"ClientRequestToken":"a","MediaRegion":"us-east-1","ExternalMeetingId":"ext"}`, "clientRequestToken"},
		{"token pattern", "POST", "/meetings", `{"ClientRequestToken":"has space","MediaRegion":"us-east-1","ExternalMeetingId":"ext"}`, "clientRequestToken"},
		{"media region missing", "POST", "/meetings", `{"ClientRequestToken":"tok-12345","ExternalMeetingId":"ext"}`, "mediaRegion"},
		{"media region unknown", "POST", "/meetings", `{"ClientRequestToken":"tok-12345","MediaRegion":"mars-north-1","ExternalMeetingId":"ext"}`, "mediaRegion"},
		{"external meeting id missing", "POST", "/meetings", `{"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1"}`, "externalMeetingId"},
		{"external meeting id too long", "POST", "/meetings", `{"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"` + long + `"}`, "externalMeetingId"},
		{"external meeting id reserved", "POST", "/meetings", `{"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"AWS:meeting"}`, "reserved"},
		{"host id pattern", "POST", "/meetings", meeting(`,"MeetingHostId":"bad<host>"`), "meetingHostId"},
		{"tenant ids empty", "POST", "/meetings", meeting(`,"TenantIds":[]`), "tenantIds"},
		{"tenant ids too many", "POST", "/meetings", meeting(`,"TenantIds":["t1","t2","t3","t4","t5","t6"]`), "tenantIds"},
		{"tenant id repeat", "POST", "/meetings", meeting(`,"TenantIds":["abbbbc"]`), "four or more"},
		{"tenant id pattern", "POST", "/meetings", meeting(`,"TenantIds":["a b"]`), "tenantIds.1.member"},
		{"tenant id too short", "POST", "/meetings", meeting(`,"TenantIds":["a"]`), "tenantIds.1.member"},
		{"video resolution enum", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Video":{"MaxResolution":"4K"}}`), "meetingFeatures.video.maxResolution"},
		{"content resolution enum", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Content":{"MaxResolution":"HD"}}`), "meetingFeatures.content.maxResolution"},
		{"echo reduction enum", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Audio":{"EchoReduction":"ON"}}`), "echoReduction"},
		{"max count zero", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Attendee":{"MaxCount":0}}`), "maxCount"},
		{"max count too big", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Attendee":{"MaxCount":251}}`), "maxCount"},
		{"FHD without max count", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Video":{"MaxResolution":"FHD"}}`), "MaxCount"},
		{"UHD over 25", "POST", "/meetings", meeting(`,"MeetingFeatures":{"Content":{"MaxResolution":"UHD"},"Attendee":{"MaxCount":26}}`), "25"},
		{"network type enum", "POST", "/meetings", meeting(`,"MediaPlacementNetworkType":"IPv6"`), "mediaPlacementNetworkType"},
		{"sqs arn form", "POST", "/meetings", meeting(`,"NotificationsConfiguration":{"SqsQueueArn":"arn:aws:sns:us-east-1:111111111111:topic"}`), "sqsQueueArn"},
		{"sns arn pattern", "POST", "/meetings", meeting(`,"NotificationsConfiguration":{"SnsTopicArn":"not an arn"}`), "snsTopicArn"},
		{"tag key pattern", "POST", "/meetings", meeting(`,"Tags":[{"Key":"bad key!","Value":"v"}]`), "tags.1.member.key"},
		{"tag key reserved", "POST", "/meetings", meeting(`,"Tags":[{"Key":"aws:owner","Value":"v"}]`), "reserved"},
		{"tag value missing", "POST", "/meetings", meeting(`,"Tags":[{"Key":"k"}]`), "tags.1.member.value"},
		{"tag value too long", "POST", "/meetings", meeting(`,"Tags":[{"Key":"k","Value":"` + strings.Repeat("v", 257) + `"}]`), "tags.1.member.value"},
		{"duplicate tag keys", "POST", "/meetings", meeting(`,"Tags":[{"Key":"k","Value":"1"},{"Key":"k","Value":"2"}]`), "more than once"},
		{"too many tags", "POST", "/meetings", meeting(`,"Tags":[` + strings.TrimSuffix(strings.Repeat(`{"Key":"k","Value":"v"},`, 51), ",") + `]`), "tags"},
		{"primary not a guid", "POST", "/meetings", meeting(`,"PrimaryMeetingId":"primary"`), "primaryMeetingId"},
		{"with attendees: none", "POST", "/meetings?operation=create-attendees", meeting(`,"Attendees":[]`), "attendees"},
		{"with attendees: too many", "POST", "/meetings?operation=create-attendees", meeting(`,"Attendees":[` + strings.TrimSuffix(strings.Repeat(`{"ExternalUserId":"user-1"},`, 21), ",") + `]`), "attendees"},
		{"with attendees: missing", "POST", "/meetings?operation=create-attendees", meeting(``), "attendees"},
		{"with attendees: user id", "POST", "/meetings?operation=create-attendees", meeting(`,"Attendees":[{"ExternalUserId":"u"}]`), "attendees.1.member.externalUserId"},

		{"meeting id malformed", "GET", "/meetings/not-a-guid", ``, "meetingId"},
		{"delete meeting id malformed", "DELETE", "/meetings/1234", ``, "meetingId"},
		{"user id missing", "POST", "/meetings/" + mid + "/attendees", `{}`, "externalUserId"},
		{"user id too short", "POST", "/meetings/" + mid + "/attendees", `{"ExternalUserId":"a"}`, "externalUserId"},
		{"user id too long", "POST", "/meetings/" + mid + "/attendees", `{"ExternalUserId":"` + long + `"}`, "externalUserId"},
		{"user id pattern", "POST", "/meetings/" + mid + "/attendees", `{"ExternalUserId":"semi;colon"}`, "externalUserId"},
		{"user id reserved", "POST", "/meetings/" + mid + "/attendees", `{"ExternalUserId":"aWs:bot"}`, "reserved"},
		{"capabilities partial", "POST", "/meetings/" + mid + "/attendees", `{"ExternalUserId":"user-1","Capabilities":{"Audio":"Send"}}`, "capabilities.video"},
		{"capability enum", "POST", "/meetings/" + mid + "/attendees", caps("Loud", "None", "None"), "capabilities.audio"},
		{"content receive without video receive", "POST", "/meetings/" + mid + "/attendees", caps("None", "Send", "Receive"), "Content"},
		{"video in a meeting without video", "POST", "/meetings/" + noVideo + "/attendees", caps("SendReceive", "Receive", "None"), "Video"},
		{"content in a meeting without content", "POST", "/meetings/" + noVideo + "/attendees", caps("SendReceive", "None", "Send"), "Content"},
		{"batch empty", "POST", "/meetings/" + mid + "/attendees?operation=batch-create", `{"Attendees":[]}`, "attendees"},
		{"batch missing", "POST", "/meetings/" + mid + "/attendees?operation=batch-create", `{}`, "attendees"},
		{"batch too many", "POST", "/meetings/" + mid + "/attendees?operation=batch-create", `{"Attendees":[` + strings.TrimSuffix(strings.Repeat(`{"ExternalUserId":"user-1"},`, 101), ",") + `]}`, "attendees"},
		{"attendee id malformed", "GET", "/meetings/" + mid + "/attendees/xyz", ``, "attendeeId"},
		{"max results zero", "GET", "/meetings/" + mid + "/attendees?max-results=0", ``, "maxResults"},
		{"max results too big", "GET", "/meetings/" + mid + "/attendees?max-results=101", ``, "maxResults"},
		{"max results not a number", "GET", "/meetings/" + mid + "/attendees?max-results=ten", ``, "maxResults"},
		{"next token forged", "GET", "/meetings/" + mid + "/attendees?next-token=AQAAAAEAAAAAAAAAAYEhq0Uybb-8PUA-4-z8TVo", ``, "NextToken"},
		{"update without capabilities", "PUT", "/meetings/" + mid + "/attendees/" + aid + "/capabilities", `{}`, "capabilities"},
		{"update capability rule", "PUT", "/meetings/" + mid + "/attendees/" + aid + "/capabilities", `{"Capabilities":{"Audio":"None","Video":"None","Content":"SendReceive"}}`, "Content"},
		{"batch update without ids", "PUT", "/meetings/" + mid + "/attendees/capabilities?operation=batch-update-except", `{"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`, "excludedAttendeeIds"},
		{"batch update empty ids", "PUT", "/meetings/" + mid + "/attendees/capabilities?operation=batch-update-except", `{"ExcludedAttendeeIds":[],"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`, "excludedAttendeeIds"},
		{"batch update bad id", "PUT", "/meetings/" + mid + "/attendees/capabilities?operation=batch-update-except", `{"ExcludedAttendeeIds":[{"AttendeeId":"x"}],"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`, "excludedAttendeeIds.1.member.attendeeId"},
		{"batch update rule", "PUT", "/meetings/" + noVideo + "/attendees/capabilities?operation=batch-update-except", `{"ExcludedAttendeeIds":[{"AttendeeId":"` + aid + `"}],"Capabilities":{"Audio":"None","Video":"Receive","Content":"None"}}`, "Video"},
		{"transcription missing", "POST", "/meetings/" + mid + "/transcription?operation=start", `{}`, "transcriptionConfiguration"},
		{"transcription empty", "POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{}}`, "EngineTranscribeSettings"},
		{"transcription language enum", "POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"LanguageCode":"xx-XX"}}}`, "languageCode"},
		{"transcription region enum", "POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"LanguageCode":"en-US","Region":"mars-1"}}}`, "region"},
		{"transcription redaction and identification", "POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"LanguageCode":"en-US","ContentIdentificationType":"PII","ContentRedactionType":"PII"}}}`, "ContentRedactionType"},
		{"transcription language or identify", "POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"Region":"auto"}}}`, "LanguageCode"},
		{"medical missing specialty", "POST", "/meetings/" + mid + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeMedicalSettings":{"LanguageCode":"en-US","Type":"DICTATION"}}}`, "specialty"},
		{"tag resource without arn", "POST", "/tags?operation=tag-resource", `{"Tags":[]}`, "resourceARN"},
		{"tag resource without tags", "POST", "/tags?operation=tag-resource", `{"ResourceARN":"arn:aws:chime:us-east-1:000000000000:meeting/` + mid + `"}`, "tags"},
		{"tag resource arn pattern", "POST", "/tags?operation=tag-resource", `{"ResourceARN":"meeting","Tags":[]}`, "resourceARN"},
		{"untag without keys", "POST", "/tags?operation=untag-resource", `{"ResourceARN":"arn:aws:chime:us-east-1:000000000000:meeting/` + mid + `"}`, "tagKeys"},
		{"untag key pattern", "POST", "/tags?operation=untag-resource", `{"ResourceARN":"arn:aws:chime:us-east-1:000000000000:meeting/` + mid + `","TagKeys":["bad key!"]}`, "tagKeys.1.member"},
		{"list tags without arn", "GET", "/tags", ``, "resourceARN"},
		{"list tags bad arn", "GET", "/tags?arn=" + url.QueryEscape("not-an-arn"), ``, "resourceARN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, []byte(tc.body), true)
			body := wantRawError(t, r, 400, "BadRequestException")
			if msg, _ := body["Message"].(string); !strings.Contains(msg, tc.fragment) {
				t.Fatalf("message %q does not name %q", msg, tc.fragment)
			}
			if body["Code"] != "BadRequest" {
				t.Fatalf("Code = %v, want BadRequest", body["Code"])
			}
		})
	}

	// Nothing a refused request carried was stored.
	list := e.do("GET", "/meetings/"+mid+"/attendees", nil, true).json(t)["Attendees"].([]any)
	if len(list) != 1 {
		t.Fatalf("refused requests left attendees behind: %v", list)
	}
	if r := e.do("POST", "/meetings", []byte(meeting("")), true); r.status != 200 {
		t.Fatalf("the token of refused requests is not free: %d %s", r.status, r.body)
	}
}

// TestValidationReportsEveryViolation checks that one response lists all
// the broken rules, as AWS does.
func TestValidationReportsEveryViolation(t *testing.T) {
	e := start(t)
	r := e.do("POST", "/meetings", []byte(`{"ClientRequestToken":"a","ExternalMeetingId":"x"}`), true)
	msg, _ := wantRawError(t, r, 400, "BadRequestException")["Message"].(string)
	for _, want := range []string{"3 validation errors detected", "clientRequestToken", "mediaRegion", "externalMeetingId"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "'a'") {
		t.Fatalf("a sensitive value was echoed: %q", msg)
	}
}
