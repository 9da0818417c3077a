package e2e

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$`)

func TestCreateAndGetMeeting(t *testing.T) {
	e := start(t)
	m := e.createMeeting("standup", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.MeetingHostId = aws.String("host-1")
		in.TenantIds = aws.StringSlice([]string{"tenant-1"})
		in.MeetingFeatures = &chimesdkmeetings.MeetingFeaturesConfiguration{
			Audio:    &chimesdkmeetings.AudioFeatures{EchoReduction: aws.String("AVAILABLE")},
			Video:    &chimesdkmeetings.VideoFeatures{MaxResolution: aws.String("FHD")},
			Attendee: &chimesdkmeetings.AttendeeFeatures{MaxCount: aws.Int64(10)},
		}
	})
	if !guid.MatchString(aws.StringValue(m.MeetingId)) {
		t.Fatalf("MeetingId %q is not a lower-case GUID", aws.StringValue(m.MeetingId))
	}
	if got, want := aws.StringValue(m.MeetingArn), "arn:aws:chime:us-east-1:000000000000:meeting/"+aws.StringValue(m.MeetingId); got != want {
		t.Fatalf("MeetingArn = %s, want %s", got, want)
	}
	if aws.StringValue(m.ExternalMeetingId) != "standup" || aws.StringValue(m.MediaRegion) != "us-east-1" || aws.StringValue(m.MeetingHostId) != "host-1" {
		t.Fatalf("meeting fields not echoed: %v", m)
	}
	if fmt.Sprint(aws.StringValueSlice(m.TenantIds)) != "[tenant-1]" {
		t.Fatalf("TenantIds = %v", aws.StringValueSlice(m.TenantIds))
	}
	if f := m.MeetingFeatures; f == nil || aws.StringValue(f.Video.MaxResolution) != "FHD" || aws.Int64Value(f.Attendee.MaxCount) != 10 ||
		aws.StringValue(f.Audio.EchoReduction) != "AVAILABLE" {
		t.Fatalf("MeetingFeatures = %v", m.MeetingFeatures)
	}
	p := m.MediaPlacement
	signaling, err := url.Parse(aws.StringValue(p.SignalingUrl))
	if err != nil || signaling.Scheme != "ws" || signaling.Host != e.srv.APIAddr() ||
		signaling.Path != "/control/"+aws.StringValue(m.MeetingId) || signaling.RawQuery != "" {
		t.Fatalf("SignalingUrl %q does not point at this server's /control/<MeetingId> without a query", aws.StringValue(p.SignalingUrl))
	}
	if aws.StringValue(p.AudioHostUrl) == "" || aws.StringValue(p.AudioFallbackUrl) == "" || aws.StringValue(p.TurnControlUrl) == "" ||
		aws.StringValue(p.ScreenDataUrl) == "" || aws.StringValue(p.ScreenSharingUrl) == "" || aws.StringValue(p.ScreenViewingUrl) == "" {
		t.Fatalf("MediaPlacement incomplete: %v", p)
	}

	got, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: m.MeetingId})
	if err != nil {
		t.Fatal(err)
	}
	if got.Meeting.String() != m.String() {
		t.Fatalf("GetMeeting differs from CreateMeeting:\n%v\n%v", got.Meeting, m)
	}
	// Upper-case IDs name the same meeting.
	if _, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(strings.ToUpper(*m.MeetingId))}); err != nil {
		t.Fatalf("GetMeeting with an upper-case ID: %v", err)
	}
}

func TestMeetingWithoutFeaturesOmitsThem(t *testing.T) {
	e := start(t)
	r := e.do("POST", "/meetings", []byte(`{"ClientRequestToken":"abc-123","MediaRegion":"us-west-2","ExternalMeetingId":"plain"}`), true)
	if r.status != 200 {
		t.Fatalf("CreateMeeting: %d %s", r.status, r.body)
	}
	m := r.json(t)["Meeting"].(map[string]any)
	if _, ok := m["MeetingFeatures"]; ok {
		t.Fatalf("MeetingFeatures present although none were given: %s", r.body)
	}
	if tenants, ok := m["TenantIds"].([]any); !ok || len(tenants) != 0 {
		t.Fatalf("TenantIds should be an empty list: %s", r.body)
	}
	for _, absent := range []string{"MeetingHostId", "PrimaryMeetingId"} {
		if _, ok := m[absent]; ok {
			t.Fatalf("%s present although not given: %s", absent, r.body)
		}
	}
}

func TestCreateMeetingWithAttendees(t *testing.T) {
	e := start(t)
	out, err := e.client.CreateMeetingWithAttendeesWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingWithAttendeesInput{
		ExternalMeetingId: aws.String("with-attendees"),
		MediaRegion:       aws.String("eu-central-1"),
		MeetingFeatures: &chimesdkmeetings.MeetingFeaturesConfiguration{
			Video: &chimesdkmeetings.VideoFeatures{MaxResolution: aws.String("None")},
		},
		Attendees: []*chimesdkmeetings.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String("alice")},
			{ExternalUserId: aws.String("bob"), Capabilities: &chimesdkmeetings.AttendeeCapabilities{
				Audio: aws.String("SendReceive"), Video: aws.String("SendReceive"), Content: aws.String("None")}},
			{ExternalUserId: aws.String("carol"), Capabilities: &chimesdkmeetings.AttendeeCapabilities{
				Audio: aws.String("Send"), Video: aws.String("None"), Content: aws.String("Send")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Attendees) != 2 || len(out.Errors) != 1 {
		t.Fatalf("want 2 attendees and 1 error, got %v", out)
	}
	// Video None with content available: the documented defaults.
	if c := out.Attendees[0].Capabilities; aws.StringValue(c.Video) != "Receive" || aws.StringValue(c.Content) != "SendReceive" || aws.StringValue(c.Audio) != "SendReceive" {
		t.Fatalf("default capabilities in a meeting without video = %v", c)
	}
	if e0 := out.Errors[0]; aws.StringValue(e0.ExternalUserId) != "bob" || aws.StringValue(e0.ErrorCode) != "BadRequest" || !strings.Contains(aws.StringValue(e0.ErrorMessage), "Video") {
		t.Fatalf("error entry = %v", e0)
	}
	if aws.StringValue(out.Attendees[1].ExternalUserId) != "carol" {
		t.Fatalf("second attendee = %v", out.Attendees[1])
	}
}

func TestAttendeeOperations(t *testing.T) {
	e := start(t)
	m := e.createMeeting("attendees")
	a := e.createAttendee(*m.MeetingId, "alice")
	if !guid.MatchString(aws.StringValue(a.AttendeeId)) || aws.StringValue(a.ExternalUserId) != "alice" {
		t.Fatalf("attendee = %v", a)
	}
	tok := aws.StringValue(a.JoinToken)
	if len(tok) < 2 || len(tok) > 2048 || strings.ContainsAny(tok, "=+/") {
		t.Fatalf("JoinToken %q is not unpadded base64url of 2..2048 characters", tok)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(raw) < 16 {
		t.Fatalf("JoinToken does not decode to at least 128 bits: %v", err)
	}
	if c := a.Capabilities; aws.StringValue(c.Audio) != "SendReceive" || aws.StringValue(c.Video) != "SendReceive" || aws.StringValue(c.Content) != "SendReceive" {
		t.Fatalf("default capabilities = %v", c)
	}

	got, err := e.client.GetAttendeeWithContext(e.ctx(), &chimesdkmeetings.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId})
	if err != nil {
		t.Fatal(err)
	}
	if got.Attendee.String() != a.String() {
		t.Fatalf("GetAttendee differs:\n%v\n%v", got.Attendee, a)
	}

	upd, err := e.client.UpdateAttendeeCapabilitiesWithContext(e.ctx(), &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
		MeetingId: m.MeetingId, AttendeeId: a.AttendeeId,
		Capabilities: &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("Receive"), Video: aws.String("Receive"), Content: aws.String("None")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.StringValue(upd.Attendee.Capabilities.Audio) != "Receive" || aws.StringValue(upd.Attendee.JoinToken) != tok {
		t.Fatalf("UpdateAttendeeCapabilities = %v", upd.Attendee)
	}

	b := e.createAttendee(*m.MeetingId, "bob")
	c := e.createAttendee(*m.MeetingId, "carol")
	if _, err := e.client.BatchUpdateAttendeeCapabilitiesExceptWithContext(e.ctx(), &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
		MeetingId:           m.MeetingId,
		ExcludedAttendeeIds: []*chimesdkmeetings.AttendeeIdItem{{AttendeeId: b.AttendeeId}},
		Capabilities:        &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("None"), Video: aws.String("None"), Content: aws.String("None")},
	}); err != nil {
		t.Fatal(err)
	}
	caps := map[string]string{}
	list, err := e.client.ListAttendeesWithContext(e.ctx(), &chimesdkmeetings.ListAttendeesInput{MeetingId: m.MeetingId})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list.Attendees {
		caps[aws.StringValue(x.ExternalUserId)] = aws.StringValue(x.Capabilities.Audio)
	}
	if fmt.Sprint(caps) != "map[alice:None bob:SendReceive carol:None]" || list.NextToken != nil {
		t.Fatalf("after BatchUpdateAttendeeCapabilitiesExcept: %v (NextToken %v)", caps, list.NextToken)
	}

	if _, err := e.client.DeleteAttendeeWithContext(e.ctx(), &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: c.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetAttendeeWithContext(e.ctx(), &chimesdkmeetings.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: c.AttendeeId})
	wantAPIError(t, err, "NotFoundException", 404, "not found")
	_, err = e.client.DeleteAttendeeWithContext(e.ctx(), &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: c.AttendeeId})
	wantAPIError(t, err, "NotFoundException", 404, "")
}

func TestBatchCreateAttendee(t *testing.T) {
	e := start(t)
	m := e.createMeeting("batch", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.MeetingFeatures = &chimesdkmeetings.MeetingFeaturesConfiguration{Attendee: &chimesdkmeetings.AttendeeFeatures{MaxCount: aws.Int64(3)}}
	})
	existing := e.createAttendee(*m.MeetingId, "dora")
	out, err := e.client.BatchCreateAttendeeWithContext(e.ctx(), &chimesdkmeetings.BatchCreateAttendeeInput{
		MeetingId: m.MeetingId,
		Attendees: []*chimesdkmeetings.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String("alice")},
			{ExternalUserId: aws.String("alice")}, // a repeat within the batch
			{ExternalUserId: aws.String("dora")},  // a repeat of an existing attendee
			{ExternalUserId: aws.String("bob"), Capabilities: &chimesdkmeetings.AttendeeCapabilities{
				Audio: aws.String("None"), Video: aws.String("None"), Content: aws.String("Receive")}}, // content needs video
			{ExternalUserId: aws.String("erin")},
			{ExternalUserId: aws.String("frank")}, // over the ceiling of 3
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range out.Attendees {
		ids = append(ids, aws.StringValue(a.ExternalUserId))
	}
	if fmt.Sprint(ids) != "[alice alice dora erin]" {
		t.Fatalf("created %v", ids)
	}
	if *out.Attendees[0].AttendeeId != *out.Attendees[1].AttendeeId || *out.Attendees[0].JoinToken != *out.Attendees[1].JoinToken {
		t.Fatal("a repeat within one batch did not return the same attendee and token")
	}
	if *out.Attendees[2].AttendeeId != *existing.AttendeeId || *out.Attendees[2].JoinToken != *existing.JoinToken {
		t.Fatal("a repeat of an existing attendee did not return it")
	}
	var errs []string
	for _, x := range out.Errors {
		errs = append(errs, aws.StringValue(x.ExternalUserId)+":"+aws.StringValue(x.ErrorCode))
	}
	if fmt.Sprint(errs) != "[bob:BadRequest frank:ResourceLimitExceeded]" {
		t.Fatalf("errors %v", errs)
	}

	// A meeting without attendees has none to find: a repeat within the
	// batch still gets the one attendee.
	empty := e.createMeeting("batch-empty")
	out, err = e.client.BatchCreateAttendeeWithContext(e.ctx(), &chimesdkmeetings.BatchCreateAttendeeInput{
		MeetingId: empty.MeetingId,
		Attendees: []*chimesdkmeetings.CreateAttendeeRequestItem{{ExternalUserId: aws.String("zoe")}, {ExternalUserId: aws.String("zoe")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Attendees) != 2 || *out.Attendees[0].AttendeeId != *out.Attendees[1].AttendeeId {
		t.Fatalf("a repeat within a batch to an empty meeting: %v", out.Attendees)
	}
	if again := e.createAttendee(*empty.MeetingId, "zoe"); *again.AttendeeId != *out.Attendees[0].AttendeeId {
		t.Fatal("the batch's attendee was not found again")
	}
}

func TestExternalUserIdIsIdempotent(t *testing.T) {
	e := start(t)
	m := e.createMeeting("idem")
	a := e.createAttendee(*m.MeetingId, "alice")
	again := e.createAttendee(*m.MeetingId, "alice")
	if *a.AttendeeId != *again.AttendeeId || *a.JoinToken != *again.JoinToken {
		t.Fatalf("repeat returned another attendee: %v vs %v", a, again)
	}
	// Once deleted, the ExternalUserId makes a new attendee with a new token.
	if _, err := e.client.DeleteAttendeeWithContext(e.ctx(), &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	fresh := e.createAttendee(*m.MeetingId, "alice")
	if *fresh.AttendeeId == *a.AttendeeId || *fresh.JoinToken == *a.JoinToken {
		t.Fatal("a deleted attendee came back")
	}
}

func TestClientRequestTokenIsIdempotent(t *testing.T) {
	e := start(t)
	in := &chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("token-1234"),
		ExternalMeetingId:  aws.String("idem"),
		MediaRegion:        aws.String("us-east-1"),
	}
	first, err := e.client.CreateMeetingWithContext(e.ctx(), in)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.client.CreateMeetingWithContext(e.ctx(), in)
	if err != nil {
		t.Fatal(err)
	}
	if *first.Meeting.MeetingId != *second.Meeting.MeetingId {
		t.Fatal("a repeated ClientRequestToken created a second meeting")
	}
	in.ExternalMeetingId = aws.String("other")
	_, err = e.client.CreateMeetingWithContext(e.ctx(), in)
	wantAPIError(t, err, "ConflictException", 409, "ClientRequestToken")

	// After the meeting ends, the token makes a new meeting.
	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: first.Meeting.MeetingId}); err != nil {
		t.Fatal(err)
	}
	third, err := e.client.CreateMeetingWithContext(e.ctx(), in)
	if err != nil {
		t.Fatal(err)
	}
	if *third.Meeting.MeetingId == *first.Meeting.MeetingId {
		t.Fatal("an ended meeting was returned for its token")
	}
}

func TestDeleteMeeting(t *testing.T) {
	e := start(t)
	m := e.createMeeting("to-delete")
	a := e.createAttendee(*m.MeetingId, "alice")
	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: m.MeetingId})
	wantAPIError(t, err, "NotFoundException", 404, *m.MeetingId)
	_, err = e.client.CreateAttendeeWithContext(e.ctx(), &chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("late")})
	wantAPIError(t, err, "NotFoundException", 404, "")
	_, err = e.client.GetAttendeeWithContext(e.ctx(), &chimesdkmeetings.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId})
	wantAPIError(t, err, "NotFoundException", 404, "")
	_, err = e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: m.MeetingId})
	wantAPIError(t, err, "NotFoundException", 404, "")
	if _, ok := e.verifyToken(*a.JoinToken); ok {
		t.Fatal("the join token of a deleted meeting still verifies")
	}
}

func TestReplicaMeetings(t *testing.T) {
	e := start(t)
	primary := e.createMeeting("primary")
	var replicas []*chimesdkmeetings.Meeting
	for i := 0; i < 4; i++ {
		replicas = append(replicas, e.createMeeting(fmt.Sprintf("replica-%d", i), func(in *chimesdkmeetings.CreateMeetingInput) {
			in.PrimaryMeetingId = primary.MeetingId
			in.MediaRegion = aws.String("eu-west-2")
		}))
	}
	if aws.StringValue(replicas[0].PrimaryMeetingId) != *primary.MeetingId {
		t.Fatalf("PrimaryMeetingId = %v", replicas[0].PrimaryMeetingId)
	}
	create := func(primaryID string) error {
		_, err := e.client.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{
			ExternalMeetingId: aws.String("one-more"), MediaRegion: aws.String("us-east-1"), PrimaryMeetingId: aws.String(primaryID)})
		return err
	}
	wantAPIError(t, create(*primary.MeetingId), "LimitExceededException", 400, "replica")
	wantAPIError(t, create(*replicas[0].MeetingId), "BadRequestException", 400, "replica")
	wantAPIError(t, create("00000000-0000-0000-0000-000000000000"), "BadRequestException", 400, "not found")
	wantAPIError(t, create("not-a-meeting-id"), "BadRequestException", 400, "primaryMeetingId")

	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: primary.MeetingId}); err != nil {
		t.Fatal(err)
	}
	for _, r := range replicas {
		_, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: r.MeetingId})
		wantAPIError(t, err, "NotFoundException", 404, "")
	}
}

func TestTags(t *testing.T) {
	e := start(t)
	m := e.createMeeting("tagged", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.Tags = []*chimesdkmeetings.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}
	})
	arn := m.MeetingArn
	list := func() string {
		t.Helper()
		out, err := e.client.ListTagsForResourceWithContext(e.ctx(), &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tag := range out.Tags {
			kv = append(kv, *tag.Key+"="+*tag.Value)
		}
		return fmt.Sprint(kv)
	}
	if got := list(); got != "[team=blue]" {
		t.Fatalf("tags from CreateMeeting = %s", got)
	}
	if _, err := e.client.TagResourceWithContext(e.ctx(), &chimesdkmeetings.TagResourceInput{ResourceARN: arn, Tags: []*chimesdkmeetings.Tag{
		{Key: aws.String("team"), Value: aws.String("red")}, {Key: aws.String("cost"), Value: aws.String("")}}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "[cost= team=red]" {
		t.Fatalf("tags after TagResource = %s", got)
	}
	if _, err := e.client.UntagResourceWithContext(e.ctx(), &chimesdkmeetings.UntagResourceInput{ResourceARN: arn, TagKeys: aws.StringSlice([]string{"team", "absent"})}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "[cost=]" {
		t.Fatalf("tags after UntagResource = %s", got)
	}

	var many []*chimesdkmeetings.Tag
	for i := 0; i < 50; i++ {
		many = append(many, &chimesdkmeetings.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
	}
	_, err := e.client.TagResourceWithContext(e.ctx(), &chimesdkmeetings.TagResourceInput{ResourceARN: arn, Tags: many})
	wantAPIError(t, err, "TooManyTagsException", 400, "50")
	if got := list(); got != "[cost=]" {
		t.Fatalf("a refused TagResource changed the tags: %s", got)
	}

	for _, bad := range []string{
		"arn:aws:chime:us-east-1:000000000000:meeting/00000000-0000-0000-0000-000000000000", // no such meeting
		strings.Replace(*arn, "us-east-1", "us-west-2", 1),                                  // another region
		strings.Replace(*arn, "000000000000", "111111111111", 1),                            // another account
		"arn:aws:sqs:us-east-1:000000000000:queue",                                          // not a meeting
	} {
		_, err := e.client.ListTagsForResourceWithContext(e.ctx(), &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: aws.String(bad)})
		wantAPIError(t, err, "ResourceNotFoundException", 404, "")
		_, err = e.client.TagResourceWithContext(e.ctx(), &chimesdkmeetings.TagResourceInput{ResourceARN: aws.String(bad), Tags: many[:1]})
		wantAPIError(t, err, "ResourceNotFoundException", 404, "")
		_, err = e.client.UntagResourceWithContext(e.ctx(), &chimesdkmeetings.UntagResourceInput{ResourceARN: aws.String(bad), TagKeys: aws.StringSlice([]string{"k"})})
		wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	}
	r := e.do("GET", "/tags?arn="+url.QueryEscape("arn:aws:chime:us-east-1:000000000000:meeting/00000000-0000-0000-0000-000000000000"), nil, true)
	if body := wantRawError(t, r, 404, "ResourceNotFoundException"); body["ResourceName"] == nil {
		t.Fatalf("ResourceNotFoundException without ResourceName: %s", r.body)
	}
}

func TestTranscription(t *testing.T) {
	e := start(t)
	m := e.createMeeting("transcribed")
	cfg := &chimesdkmeetings.TranscriptionConfiguration{
		EngineTranscribeSettings: &chimesdkmeetings.EngineTranscribeSettings{LanguageCode: aws.String("en-US"), Region: aws.String("auto")},
	}
	start := func() error {
		_, err := e.client.StartMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: m.MeetingId, TranscriptionConfiguration: cfg})
		return err
	}
	stop := func() error {
		_, err := e.client.StopMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: m.MeetingId})
		return err
	}
	wantAPIError(t, stop(), "UnprocessableEntityException", 422, "not started")
	if err := start(); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, start(), "UnprocessableEntityException", 422, "already")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := start(); err != nil {
		t.Fatalf("restart after stop: %v", err)
	}

	medical := &chimesdkmeetings.TranscriptionConfiguration{EngineTranscribeMedicalSettings: &chimesdkmeetings.EngineTranscribeMedicalSettings{
		LanguageCode: aws.String("en-US"), Specialty: aws.String("PRIMARYCARE"), Type: aws.String("CONVERSATION")}}
	m2 := e.createMeeting("medical")
	if _, err := e.client.StartMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: m2.MeetingId, TranscriptionConfiguration: medical}); err != nil {
		t.Fatal(err)
	}
	both := &chimesdkmeetings.TranscriptionConfiguration{EngineTranscribeSettings: cfg.EngineTranscribeSettings, EngineTranscribeMedicalSettings: medical.EngineTranscribeMedicalSettings}
	_, err := e.raw.StartMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: m2.MeetingId, TranscriptionConfiguration: both})
	wantAPIError(t, err, "BadRequestException", 400, "only one")
	_, err = e.client.StartMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StartMeetingTranscriptionInput{
		MeetingId: aws.String("00000000-0000-0000-0000-000000000000"), TranscriptionConfiguration: cfg})
	wantAPIError(t, err, "NotFoundException", 404, "")
}
