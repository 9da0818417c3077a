package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// opsHandler serves the operations endpoints: liveness, readiness, and the
// internal API the media plane uses to check join tokens.
func (s *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := contextWithTimeout(r, 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
	// Profiles, for finding where the time goes (go tool pprof URL).
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /internal/v1/join-tokens/verify", s.verifyJoinToken)
	mux.Handle("GET /v1/events", s.stream)
	mux.HandleFunc("GET /v1/events/dead-letters", s.deadLetters)
	mux.HandleFunc("POST /v1/events/dead-letters/replay", s.replayDeadLetters)
	return mux
}

// DeadLetter is one entry of the dead-letter list, as the ops API shows it.
type DeadLetter struct {
	EventSeq    int64           `json:"EventSeq"`
	EventID     string          `json:"EventId"`
	EventType   string          `json:"EventType"`
	MeetingID   string          `json:"MeetingId"`
	Destination string          `json:"Destination"`
	Attempts    int             `json:"Attempts"`
	LastError   string          `json:"LastError"`
	Event       json.RawMessage `json:"Event"`
}

func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) {
	var dead []store.Delivery
	if err := s.store.View(r.Context(), func(rd store.Reader) error {
		var err error
		dead, err = rd.DeadDeliveries(1000)
		return err
	}); err != nil {
		s.storeUnavailable(w, r, "list dead letters", err)
		return
	}
	out := make([]DeadLetter, 0, len(dead))
	for _, d := range dead {
		payload, err := events.Payload(&d.Event)
		if err != nil {
			s.log.WarnContext(r.Context(), "dead letter with a damaged event", "seq", d.Event.Seq, "err", err)
			payload = nil
		}
		out = append(out, DeadLetter{EventSeq: d.Event.Seq, EventID: d.Event.ID, EventType: d.Event.Type, MeetingID: d.Event.MeetingID,
			Destination: d.Destination, Attempts: d.Attempts, LastError: d.LastError, Event: payload})
	}
	writeJSON(w, http.StatusOK, map[string]any{"DeadLetters": out})
}

// storeUnavailable logs a store failure and answers 503.
func (s *Server) storeUnavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), what, "err", err)
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"Code": "ServiceUnavailable", "Message": "the store is unavailable"})
}

// ReplayRequest names the events whose dead deliveries to replay; none: all.
type ReplayRequest struct {
	EventSeqs []int64 `json:"EventSeqs"`
}

func (s *Server) replayDeadLetters(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"Code": "BadRequest", "Message": "want {\"EventSeqs\": [...]} or no body"})
			return
		}
	}
	n := 0
	if err := s.store.Write(r.Context(), func(wr store.Writer) error {
		var err error
		n, err = wr.ReviveDeliveries(req.EventSeqs, time.Now())
		return err
	}); err != nil {
		s.storeUnavailable(w, r, "replay dead letters", err)
		return
	}
	s.dispatcher.Notify()
	s.log.InfoContext(r.Context(), "dead letters replayed", "count", n)
	writeJSON(w, http.StatusOK, map[string]int{"Replayed": n})
}

// verifyRequest and verifyResponse are the internal token check's wire form.
type verifyRequest struct {
	JoinToken string `json:"JoinToken"`
}

type verifyResponse struct {
	AccountId      string `json:"AccountId"`
	MeetingId      string `json:"MeetingId"`
	AttendeeId     string `json:"AttendeeId"`
	ExternalUserId string `json:"ExternalUserId"`
	Content        bool   `json:"Content"`
	Capabilities   any    `json:"Capabilities"`
}

func (s *Server) verifyJoinToken(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil || req.JoinToken == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"Code": "BadRequest", "Message": "want a JSON object with JoinToken"})
		return
	}
	id, err := s.service.VerifyJoinToken(r.Context(), req.JoinToken)
	if errors.Is(err, meetings.ErrTokenRefused) {
		writeJSON(w, http.StatusForbidden, map[string]string{"Code": "Forbidden", "Message": "The join token is not valid"})
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "verify join token", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"Code": "ServiceFailure", "Message": "Service has experienced an unexpected failure"})
		return
	}
	writeJSON(w, http.StatusOK, verifyResponse{
		AccountId: id.AccountID, MeetingId: id.MeetingID, AttendeeId: id.AttendeeID,
		ExternalUserId: id.ExternalUserID, Content: id.Content, Capabilities: id.Capabilities,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may be gone
}

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
