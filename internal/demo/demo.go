// Package demo serves /demo: a page where a person enters a meeting name and
// their own, and joins the meeting with camera and microphone through the
// Amazon Chime SDK browser client, bundled from npm (see web/). The page
// asks Carillon's /demo/join to create the meeting (or find it, by name)
// and an attendee, as an application's backend would.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/model"
)

//go:embed static
var static embed.FS

// Service is what the demo needs of the meetings service.
type Service interface {
	CreateMeeting(ctx context.Context, c meetings.Caller, in *model.CreateMeetingInput) (*model.Meeting, error)
	CreateAttendee(ctx context.Context, c meetings.Caller, in *model.CreateAttendeeInput) (*model.Attendee, error)
}

// Config says where the bundled client is and whose meetings the page makes.
type Config struct {
	// SDKPath is the browser client bundle (web/dist/amazon-chime-sdk.js).
	SDKPath string
	// Caller is the account (and region) the demo's meetings belong to.
	Caller meetings.Caller
}

// Handler serves the demo under /demo.
type Handler struct {
	cfg   Config
	svc   Service
	log   *slog.Logger
	files http.Handler
}

// New returns the demo's handler.
func New(cfg Config, svc Service, log *slog.Logger) *Handler {
	sub, _ := fs.Sub(static, "static") // a constant path of the embedded tree
	return &Handler{cfg: cfg, svc: svc, log: log, files: http.StripPrefix("/demo/", http.FileServerFS(sub))}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/demo":
		http.Redirect(w, r, "/demo/", http.StatusFound)
	case r.URL.Path == "/demo/join":
		h.join(w, r)
	case r.URL.Path == "/demo/sdk.js" || r.URL.Path == "/demo/sdk.js.map":
		h.sdk(w, r)
	default:
		w.Header().Set("Cache-Control", "no-cache")
		h.files.ServeHTTP(w, r)
	}
}

// sdk serves the bundled client, or says how to build it.
func (h *Handler) sdk(w http.ResponseWriter, r *http.Request) {
	path := h.cfg.SDKPath
	if strings.HasSuffix(r.URL.Path, ".map") {
		path = strings.TrimSuffix(path, ".js") + ".js.map"
	}
	f, err := os.Open(path)
	if err != nil {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		msg, _ := json.Marshal("The Amazon Chime SDK bundle was not found at " + h.cfg.SDKPath +
			". Build it once with: npm --prefix web ci && npm --prefix web run build (or point --demo-sdk at it).")
		w.Write([]byte("throw new Error(" + string(msg) + ");\n"))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "cannot read the bundle", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	http.ServeContent(w, r, "sdk.js", st.ModTime(), f)
}

type joinRequest struct {
	Meeting string `json:"meeting"`
	Name    string `json:"name"`
}

type joinResponse struct {
	Meeting  *model.Meeting  `json:"Meeting"`
	Attendee *model.Attendee `json:"Attendee"`
}

var namePattern = regexp.MustCompile(`^[\p{L}\p{N} ._'-]{1,40}$`)

// join creates the named meeting, or finds it while it is active (the name
// is its ClientRequestToken, hashed), and an attendee in it.
func (h *Handler) join(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "POST a JSON object {meeting, name}")
		return
	}
	var in joinRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "the body must be a JSON object {meeting, name}")
		return
	}
	in.Meeting, in.Name = strings.TrimSpace(in.Meeting), strings.TrimSpace(in.Name)
	if !namePattern.MatchString(in.Meeting) || !namePattern.MatchString(in.Name) {
		writeError(w, http.StatusBadRequest, "the meeting and your name must each be 1 to 40 letters, digits, spaces or . _ ' -")
		return
	}
	// Names are matched without regard to case: the meeting is the same,
	// so are its parameters (a repeat with others would be a conflict).
	in.Meeting = strings.ToLower(in.Meeting)
	sum := sha256.Sum256([]byte(in.Meeting))
	m, err := h.svc.CreateMeeting(r.Context(), h.cfg.Caller, &model.CreateMeetingInput{
		ClientRequestToken: "demo-" + hex.EncodeToString(sum[:16]),
		MediaRegion:        h.cfg.Caller.Region,
		ExternalMeetingId:  in.Meeting,
		MeetingFeatures: &model.MeetingFeaturesConfiguration{
			Video:   &model.VideoFeatures{MaxResolution: "HD"},
			Content: &model.ContentFeatures{MaxResolution: "FHD"},
		},
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	a, err := h.svc.CreateAttendee(r.Context(), h.cfg.Caller, &model.CreateAttendeeInput{
		MeetingId:      m.MeetingId,
		ExternalUserId: in.Name + "#" + hex.EncodeToString(suffix),
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(joinResponse{Meeting: m, Attendee: a})
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		writeError(w, ae.Kind.Status(), ae.Message)
		return
	}
	h.log.Error("demo: joining", "err", err)
	writeError(w, http.StatusInternalServerError, "the meeting could not be created")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
