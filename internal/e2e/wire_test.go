package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestWireErrors covers requests that name no operation or carry a body the
// server cannot read: each gets an AWS-shaped client error, never Go's
// plain-text 404/405, never a 500.
func TestWireErrors(t *testing.T) {
	e := start(t)
	m := e.createMeeting("wire")
	mid := *m.MeetingId
	cases := []struct {
		name, method, path, body string
		status                   int
		shape, fragment          string
	}{
		{"unknown path", "GET", "/nothing/here", "", 404, "UnknownOperationException", "/nothing/here"},
		{"root", "GET", "/", "", 404, "UnknownOperationException", ""},
		{"trailing slash", "GET", "/meetings/" + mid + "/", "", 404, "UnknownOperationException", ""},
		{"wrong method", "PATCH", "/meetings/" + mid, "", 404, "UnknownOperationException", "PATCH"},
		{"unknown operation literal", "POST", "/tags?operation=frobnicate", "{}", 404, "UnknownOperationException", ""},
		{"no operation literal", "PUT", "/meetings/" + mid + "/attendees/capabilities", "{}", 404, "UnknownOperationException", ""},
		{"malformed JSON", "POST", "/meetings", `{"ClientRequestToken":`, 400, "BadRequestException", "not valid JSON"},
		{"trailing garbage", "POST", "/meetings", `{} {}`, 400, "BadRequestException", "JSON"},
		{"array body", "POST", "/meetings", `[1,2]`, 400, "BadRequestException", "JSON object"},
		{"string body", "POST", "/meetings/" + mid + "/attendees", `"alice"`, 400, "BadRequestException", "JSON object"},
		{"wrong type string", "POST", "/meetings", `{"ClientRequestToken":12,"MediaRegion":"us-east-1","ExternalMeetingId":"x"}`, 400, "BadRequestException", "ClientRequestToken"},
		{"wrong type integer", "POST", "/meetings", `{"ClientRequestToken":"tok-1","MediaRegion":"us-east-1","ExternalMeetingId":"x","MeetingFeatures":{"Attendee":{"MaxCount":"ten"}}}`, 400, "BadRequestException", "MaxCount"},
		{"wrong type list", "POST", "/meetings/" + mid + "/attendees?operation=batch-create", `{"Attendees":{"ExternalUserId":"a"}}`, 400, "BadRequestException", "Attendees"},
		{"fractional integer", "POST", "/meetings", `{"ClientRequestToken":"tok-1","MediaRegion":"us-east-1","ExternalMeetingId":"x","MeetingFeatures":{"Attendee":{"MaxCount":2.5}}}`, 400, "BadRequestException", "MaxCount"},
		{"huge integer", "POST", "/meetings", `{"ClientRequestToken":"tok-1","MediaRegion":"us-east-1","ExternalMeetingId":"x","MeetingFeatures":{"Attendee":{"MaxCount":99999999999999999999999}}}`, 400, "BadRequestException", "MaxCount"},
		{"oversized body", "POST", "/meetings", `{"ExternalMeetingId":"` + strings.Repeat("x", 300<<10) + `"}`, 400, "BadRequestException", "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, []byte(tc.body), true)
			body := wantRawError(t, r, tc.status, tc.shape)
			if msg, _ := body["Message"].(string); !strings.Contains(msg, tc.fragment) {
				t.Fatalf("message %q does not mention %q", msg, tc.fragment)
			}
		})
	}
	// A wrong method on a known path says which methods it has.
	if r := e.do("PATCH", "/meetings/"+mid, nil, true); !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
	// Nothing was stored by any of them.
	if got := e.do("GET", "/meetings/"+mid+"/attendees", nil, true).json(t)["Attendees"].([]any); len(got) != 0 {
		t.Fatalf("a refused request stored attendees: %v", got)
	}
}

// TestEveryResponseHasRequestID checks x-amzn-RequestId on success, error
// and no-content responses, and that request IDs differ.
func TestEveryResponseHasRequestID(t *testing.T) {
	e := start(t)
	m := e.createMeeting("ids")
	seen := map[string]bool{}
	for _, r := range []rawResponse{
		e.do("GET", "/meetings/"+*m.MeetingId, nil, true),
		e.do("GET", "/meetings/00000000-0000-0000-0000-000000000000", nil, true),
		e.do("DELETE", "/meetings/"+*m.MeetingId, nil, true),
		e.do("GET", "/nowhere", nil, false),
	} {
		id := r.header.Get("x-amzn-RequestId")
		if id == "" || seen[id] {
			t.Fatalf("response %d has request ID %q (seen before: %v)", r.status, id, seen[id])
		}
		seen[id] = true
	}
}

// TestSuccessStatuses checks the modeled success statuses and bodies of the
// operations that answer without a result.
func TestSuccessStatuses(t *testing.T) {
	e := start(t)
	m := e.createMeeting("statuses")
	a := e.createAttendee(*m.MeetingId, "alice")
	arn := *m.MeetingArn
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"PUT", "/meetings/" + *m.MeetingId + "/attendees/capabilities?operation=batch-update-except", `{"ExcludedAttendeeIds":[{"AttendeeId":"` + *a.AttendeeId + `"}],"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`, 200},
		{"POST", "/meetings/" + *m.MeetingId + "/transcription?operation=start", `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"LanguageCode":"en-US"}}}`, 200},
		{"POST", "/meetings/" + *m.MeetingId + "/transcription?operation=stop", ``, 200},
		{"POST", "/tags?operation=tag-resource", `{"ResourceARN":"` + arn + `","Tags":[{"Key":"k","Value":"v"}]}`, 204},
		{"POST", "/tags?operation=untag-resource", `{"ResourceARN":"` + arn + `","TagKeys":["k"]}`, 204},
		{"DELETE", "/meetings/" + *m.MeetingId + "/attendees/" + *a.AttendeeId, ``, 204},
		{"DELETE", "/meetings/" + *m.MeetingId, ``, 204},
	} {
		r := e.do(tc.method, tc.path, []byte(tc.body), true)
		if r.status != tc.status || len(r.body) != 0 {
			t.Fatalf("%s %s: %d %q, want %d with no body", tc.method, tc.path, r.status, r.body, tc.status)
		}
	}
}

// TestGarbageNeverCrashes throws malformed requests at the server, signed
// and unsigned, and checks each gets an AWS-shaped answer.
func TestGarbageNeverCrashes(t *testing.T) {
	e := start(t)
	bodies := []string{"", "{", "}", "null", "true", "[]", `{"Attendees":[null]}`, `{"Attendees":[1]}`, `{"Tags":[null]}`,
		`{"Capabilities":null}`, `{"MeetingFeatures":null}`, `{"TranscriptionConfiguration":{"EngineTranscribeSettings":null}}`,
		"\x00\xff\xfe", `{"ExternalUserId":"\ud800"}`, strings.Repeat("[", 10000)}
	paths := []string{"/meetings", "/meetings?operation=create-attendees", "/meetings/00000000-0000-0000-0000-000000000000/attendees",
		"/meetings/00000000-0000-0000-0000-000000000000/attendees?operation=batch-create", "/tags?operation=tag-resource",
		"/meetings/00000000-0000-0000-0000-000000000000/transcription?operation=start",
		"/meetings/00000000-0000-0000-0000-000000000000/attendees/capabilities?operation=batch-update-except"}
	for _, p := range paths {
		for _, b := range bodies {
			for _, method := range []string{"POST", "PUT"} {
				r := e.do(method, p, []byte(b), true)
				if r.status >= 500 || r.header.Get("x-amzn-ErrorType") == "" && r.status >= 400 {
					t.Fatalf("%s %s %q: %d %s", method, p, b, r.status, r.body)
				}
			}
		}
	}
	// The server still answers.
	e.createMeeting("still-alive")

	// Raw protocol junk does not take it down either.
	req, _ := http.NewRequest("POST", e.url+"/meetings", bytes.NewReader([]byte("{}")))
	req.Header.Set("Authorization", strings.Repeat("A", 20000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("oversized Authorization: %d", resp.StatusCode)
	}
	e.createMeeting("still-alive-2")
}
