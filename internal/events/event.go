// Package events renders meeting events in the real service's format (the
// EventBridge envelope with source aws.chime and detail-type "Chime Meeting
// State Change") and delivers them from the store's outbox to webhooks,
// SQS queues and SNS topics, and to people watching a live stream.
package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// Event types, as the service names them in detail.eventType.
const (
	MeetingStarted = "chime:MeetingStarted"
	MeetingEnded   = "chime:MeetingEnded"

	AttendeeAdded               = "chime:AttendeeAdded"
	AttendeeDeleted             = "chime:AttendeeDeleted"
	AttendeeCapabilitiesUpdated = "chime:AttendeeCapabilitiesUpdated"

	TranscriptionStarted     = "chime:TranscriptionStarted"
	TranscriptionStopped     = "chime:TranscriptionStopped"
	TranscriptionInterrupted = "chime:TranscriptionInterrupted"
	TranscriptionResumed     = "chime:TranscriptionResumed"
	TranscriptionFailed      = "chime:TranscriptionFailed"

	// Raised by the media plane.
	AttendeeAuthorized          = "chime:AttendeeAuthorized"
	AttendeeJoined              = "chime:AttendeeJoined"
	AttendeeLeft                = "chime:AttendeeLeft"
	AttendeeDropped             = "chime:AttendeeDropped"
	AttendeeVideoStarted        = "chime:AttendeeVideoStarted"
	AttendeeVideoStopped        = "chime:AttendeeVideoStopped"
	AttendeeContentJoined       = "chime:AttendeeContentJoined"
	AttendeeContentLeft         = "chime:AttendeeContentLeft"
	AttendeeContentDropped      = "chime:AttendeeContentDropped"
	AttendeeContentVideoStarted = "chime:AttendeeContentVideoStarted"
	AttendeeContentVideoStopped = "chime:AttendeeContentVideoStopped"
)

// IsMediaType says whether an event type is one the media plane raises.
func IsMediaType(t string) bool {
	switch t {
	case AttendeeAuthorized, AttendeeJoined, AttendeeLeft, AttendeeDropped, AttendeeVideoStarted,
		AttendeeVideoStopped, AttendeeContentJoined, AttendeeContentLeft, AttendeeContentDropped,
		AttendeeContentVideoStarted, AttendeeContentVideoStopped:
		return true
	}
	return false
}

// withNetworkType are the events that carry networkType "Voip".
func withNetworkType(t string) bool {
	switch t {
	case AttendeeJoined, AttendeeLeft, AttendeeDropped, AttendeeContentJoined, AttendeeContentLeft, AttendeeContentDropped:
		return true
	}
	return false
}

// Envelope is the EventBridge envelope the service sends.
type Envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     Detail   `json:"detail"`
}

// Detail is the detail member of a meeting event.
type Detail struct {
	Version           string `json:"version"`
	EventType         string `json:"eventType"`
	Timestamp         int64  `json:"timestamp"` // epoch milliseconds
	MeetingID         string `json:"meetingId"`
	ExternalMeetingID string `json:"externalMeetingId,omitempty"`
	AttendeeID        string `json:"attendeeId,omitempty"`
	ExternalUserID    string `json:"externalUserId,omitempty"`
	NetworkType       string `json:"networkType,omitempty"`
	MediaRegion       string `json:"mediaRegion"`

	// Transcription events.
	TranscriptionRegion        string `json:"transcriptionRegion,omitempty"`
	TranscriptionConfiguration string `json:"transcriptionConfiguration,omitempty"` // JSON, as a string
	Message                    string `json:"message,omitempty"`

	// chime:AttendeeCapabilitiesUpdated.
	Success              string        `json:"success,omitempty"`
	AttendeeCapabilities *capabilities `json:"attendeeCapabilities,omitempty"`
}

type capabilities struct {
	Audio   string `json:"audio"`
	Video   string `json:"video"`
	Content string `json:"content"`
}

// timeLayout is the envelope's time: UTC with milliseconds, as delivered.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Attendee names the attendee an event is about.
type Attendee struct {
	ID, ExternalUserID string
	Capabilities       *model.AttendeeCapabilities
}

// New makes an event about a meeting (and an attendee, when a is not nil)
// as the store's outbox keeps it; Payload renders it.
func New(eventType string, m *store.Meeting, a *Attendee, at time.Time) *store.Event {
	// Only what the outbox row's columns do not hold is built here, in the
	// writer's transaction; Payload builds the rest when it is delivered.
	d := Detail{ExternalMeetingID: m.ExternalMeetingID, MediaRegion: m.MediaRegion}
	if a != nil {
		d.AttendeeID = a.ID
		d.ExternalUserID = a.ExternalUserID
		if withNetworkType(eventType) {
			d.NetworkType = "Voip"
		}
		if eventType == AttendeeCapabilitiesUpdated && a.Capabilities != nil {
			d.Success = "1"
			d.AttendeeCapabilities = &capabilities{Audio: a.Capabilities.Audio, Video: a.Capabilities.Video, Content: a.Capabilities.Content}
		}
	}
	if cfg := m.Transcription; cfg != nil && (eventType == TranscriptionStarted || eventType == TranscriptionStopped) {
		d.TranscriptionRegion = transcriptionRegion(cfg, m.MediaRegion)
		b, _ := json.Marshal(cfg) // plain data: cannot fail
		d.TranscriptionConfiguration = string(b)
	}
	return &store.Event{
		ID:        uuid.NewString(),
		MeetingID: m.ID,
		AccountID: m.AccountID,
		Type:      eventType,
		Payload:   d.appendStored(make([]byte, 0, 192), m.APIRegion),
		CreatedAt: at.UTC(),
	}
}

// envelope is an event's envelope with the members its outbox columns
// hold, and the constants.
func envelope(eventType, id, accountID, region, meetingID string, at time.Time) Envelope {
	at = at.UTC()
	return Envelope{
		Version:    "0",
		ID:         id,
		DetailType: "Chime Meeting State Change",
		Source:     "aws.chime",
		Account:    accountID,
		Time:       at.Format(timeLayout),
		Region:     region,
		Resources:  []string{model.MeetingARN(region, accountID, meetingID)},
		Detail: Detail{
			Version:   "0",
			EventType: eventType,
			Timestamp: at.UnixMilli(),
			MeetingID: meetingID,
		},
	}
}

// Payload renders an event from the outbox as the service delivers it: the
// EventBridge envelope. Events the outbox holds whole (written before it
// kept them compact) come back as they are.
func Payload(e *store.Event) ([]byte, error) {
	d, region, err := stored(e)
	if err != nil || d == nil {
		return e.Payload, err
	}
	env := envelope(e.Type, e.ID, e.AccountID, region, e.MeetingID, e.CreatedAt)
	d.Version, d.EventType, d.Timestamp, d.MeetingID = env.Detail.Version, env.Detail.EventType, env.Detail.Timestamp, env.Detail.MeetingID
	env.Detail = *d
	return env.appendJSON(make([]byte, 0, 640)), nil
}

// DetailOf is the detail of an event from the outbox.
func DetailOf(e *store.Event) (Detail, error) {
	d, _, err := stored(e)
	switch {
	case err != nil:
		return Detail{}, err
	case d != nil:
		return *d, nil
	}
	var env Envelope
	err = json.Unmarshal(e.Payload, &env)
	return env.Detail, err
}

// stored decodes what the outbox keeps of an event; nil when it holds the
// whole envelope.
func stored(e *store.Event) (*Detail, string, error) {
	if !bytes.HasPrefix(e.Payload, []byte(storedPrefix)) {
		return nil, "", nil
	}
	var s struct {
		Region string `json:"region"`
		Detail Detail `json:"detail"`
	}
	if err := json.Unmarshal(e.Payload, &s); err != nil {
		return nil, "", fmt.Errorf("event %d: %w", e.Seq, err)
	}
	return &s.Detail, s.Region, nil
}

// transcriptionRegion is where the transcription runs: the configured
// region, or the meeting's media region when none (or "auto") is given.
func transcriptionRegion(cfg *model.TranscriptionConfiguration, mediaRegion string) string {
	r := ""
	switch {
	case cfg.EngineTranscribeSettings != nil:
		r = cfg.EngineTranscribeSettings.Region
	case cfg.EngineTranscribeMedicalSettings != nil:
		r = cfg.EngineTranscribeMedicalSettings.Region
	}
	if r == "" || r == "auto" {
		return mediaRegion
	}
	return r
}
