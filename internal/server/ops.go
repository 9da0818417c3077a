package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
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
	mux.HandleFunc("POST /internal/v1/join-tokens/verify", s.verifyJoinToken)
	return mux
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
