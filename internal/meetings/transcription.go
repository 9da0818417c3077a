package meetings

import (
	"context"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// Transcription is a two-state machine per meeting: stopped (the start
// state) and started, which records its configuration. There is no engine
// yet: the state and configuration are what a future engine will read.

// StartMeetingTranscription moves a meeting's transcription to started.
// Starting it again while it runs is UnprocessableEntity.
func (s *Service) StartMeetingTranscription(ctx context.Context, c Caller, in *model.StartMeetingTranscriptionInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "StartMeetingTranscription", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		if m.Transcription != nil {
			return apierr.New(apierr.UnprocessableEntity, "Transcription is already started for meeting <%s>", m.ID)
		}
		if err := w.SetTranscription(m.ID, in.TranscriptionConfiguration); err != nil {
			return err
		}
		m.Transcription = in.TranscriptionConfiguration
		return s.emit(w, &m, s.event(events.TranscriptionStarted, &m, nil))
	})
}

// StopMeetingTranscription moves a meeting's transcription to stopped.
// Stopping one that is not running is UnprocessableEntity.
func (s *Service) StopMeetingTranscription(ctx context.Context, c Caller, in *model.StopMeetingTranscriptionInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "StopMeetingTranscription", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		if m.Transcription == nil {
			return apierr.New(apierr.UnprocessableEntity, "Transcription is not started for meeting <%s>", m.ID)
		}
		if err := w.SetTranscription(m.ID, nil); err != nil {
			return err
		}
		return s.emit(w, &m, s.event(events.TranscriptionStopped, &m, nil))
	})
}
