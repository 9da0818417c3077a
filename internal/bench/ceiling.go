package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/model"
)

// Ceiling runs the same workload against a bare HTTP server in this process
// that decodes the same requests into the same types and encodes answers
// of the same shapes and sizes, and does nothing else: what this machine
// can do at best, load generator included, for these request bodies.
func Ceiling(ctx context.Context, cfg Config) (*Result, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: bareHandler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Shutdown below
	defer srv.Shutdown(context.Background())
	c, err := NewClient("http://"+l.Addr().String(), "ceiling", "ceiling", "us-east-1", cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cfg.Progress = nil
	return Run(ctx, c, cfg)
}

func fakeToken() string {
	b := make([]byte, 69) // the length of Carillon's join tokens
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func fakeAttendee(external string) model.Attendee {
	return model.Attendee{ExternalUserId: external, AttendeeId: uuid.NewString(), JoinToken: fakeToken(),
		Capabilities: &model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.SendReceive, Content: model.SendReceive}}
}

func fakeMeeting(in *model.CreateMeetingInput) *model.Meeting {
	id := uuid.NewString()
	return &model.Meeting{
		MeetingId: id, ExternalMeetingId: in.ExternalMeetingId, MediaRegion: in.MediaRegion, TenantIds: []string{},
		MeetingArn:     model.MeetingARN("us-east-1", accounts.LocalPrincipal().AccountID, id),
		MediaPlacement: meetings.MediaPlacement(&url.URL{Scheme: "http", Host: "127.0.0.1:8080"}, id),
	}
}

func fakeAttendees(items []model.CreateAttendeeRequestItem) []model.Attendee {
	out := make([]model.Attendee, 0, len(items))
	for _, it := range items {
		out = append(out, fakeAttendee(it.ExternalUserId))
	}
	return out
}

// bareHandler answers every operation the workloads use.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		op := r.URL.Query().Get("operation")
		var out any
		switch {
		case r.Method == "POST" && len(segs) == 1 && op == "create-attendees":
			var in model.CreateMeetingWithAttendeesInput
			json.Unmarshal(body, &in)
			out = model.CreateMeetingWithAttendeesOutput{Meeting: fakeMeeting(&in.CreateMeetingInput),
				Attendees: fakeAttendees(in.Attendees), Errors: []model.CreateAttendeeError{}}
		case r.Method == "POST" && len(segs) == 1:
			var in model.CreateMeetingInput
			json.Unmarshal(body, &in)
			out = model.CreateMeetingOutput{Meeting: fakeMeeting(&in)}
		case r.Method == "GET" && len(segs) == 2:
			out = model.GetMeetingOutput{Meeting: fakeMeeting(&model.CreateMeetingInput{ExternalMeetingId: "x", MediaRegion: "us-east-1"})}
		case r.Method == "POST" && len(segs) == 3 && op == "batch-create":
			var in model.BatchCreateAttendeeInput
			json.Unmarshal(body, &in)
			out = model.BatchCreateAttendeeOutput{Attendees: fakeAttendees(in.Attendees), Errors: []model.CreateAttendeeError{}}
		case r.Method == "POST" && len(segs) == 3:
			var in model.CreateAttendeeInput
			json.Unmarshal(body, &in)
			a := fakeAttendee(in.ExternalUserId)
			out = model.CreateAttendeeOutput{Attendee: &a}
		case r.Method == "GET" && len(segs) == 3:
			n := 100
			if v, err := strconv.Atoi(r.URL.Query().Get("max-results")); err == nil {
				n = v
			}
			res := model.ListAttendeesOutput{NextToken: "AQAAAAEAAAAAAAAAAYEhq0Uybb-8PUA-4-z8TVo"}
			for i := 0; i < n; i++ {
				res.Attendees = append(res.Attendees, fakeAttendee("user-"+strconv.Itoa(i)))
			}
			out = res
		case r.Method == "GET" && len(segs) == 4:
			a := fakeAttendee("someone")
			out = model.GetAttendeeOutput{Attendee: &a}
		case r.Method == "PUT" && len(segs) == 5:
			var in model.UpdateAttendeeCapabilitiesInput
			json.Unmarshal(body, &in)
			a := fakeAttendee("someone")
			a.Capabilities = in.Capabilities
			out = model.UpdateAttendeeCapabilitiesOutput{Attendee: &a}
		case r.Method == "DELETE":
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			http.Error(w, "not a benchmark operation", http.StatusNotFound)
			return
		}
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b) //nolint:errcheck // the load generator may be gone
	})
}
