// Package model holds the shapes of the Chime SDK Meetings API (2021-07-15)
// as Go types with their wire names, and the validation rules of the model
// and of the API reference. Everything that speaks the API (the server, the
// load tool, the admin commands) shares these types.
package model

// Media capability values of an attendee.
const (
	SendReceive = "SendReceive"
	Send        = "Send"
	Receive     = "Receive"
	None        = "None"
)

// Meeting feature values.
const (
	Available   = "AVAILABLE"
	Unavailable = "UNAVAILABLE"
	HD          = "HD"
	FHD         = "FHD"
	UHD         = "UHD"
)

// Meeting is the Meeting shape.
type Meeting struct {
	MeetingId         string                        `json:"MeetingId,omitempty"`
	MeetingHostId     string                        `json:"MeetingHostId,omitempty"`
	ExternalMeetingId string                        `json:"ExternalMeetingId,omitempty"`
	MediaRegion       string                        `json:"MediaRegion,omitempty"`
	MediaPlacement    *MediaPlacement               `json:"MediaPlacement,omitempty"`
	MeetingFeatures   *MeetingFeaturesConfiguration `json:"MeetingFeatures,omitempty"`
	PrimaryMeetingId  string                        `json:"PrimaryMeetingId,omitempty"`
	TenantIds         []string                      `json:"TenantIds"` // the real service sends [] when empty
	MeetingArn        string                        `json:"MeetingArn,omitempty"`
}

// MediaPlacement is where clients connect for the meeting's media.
type MediaPlacement struct {
	AudioHostUrl      string `json:"AudioHostUrl,omitempty"`
	AudioFallbackUrl  string `json:"AudioFallbackUrl,omitempty"`
	SignalingUrl      string `json:"SignalingUrl,omitempty"`
	TurnControlUrl    string `json:"TurnControlUrl,omitempty"`
	ScreenDataUrl     string `json:"ScreenDataUrl,omitempty"`
	ScreenViewingUrl  string `json:"ScreenViewingUrl,omitempty"`
	ScreenSharingUrl  string `json:"ScreenSharingUrl,omitempty"`
	EventIngestionUrl string `json:"EventIngestionUrl,omitempty"`
}

// MeetingFeaturesConfiguration is the MeetingFeatures member of a meeting.
type MeetingFeaturesConfiguration struct {
	Audio    *AudioFeatures    `json:"Audio,omitempty"`
	Video    *VideoFeatures    `json:"Video,omitempty"`
	Content  *ContentFeatures  `json:"Content,omitempty"`
	Attendee *AttendeeFeatures `json:"Attendee,omitempty"`
}

// AudioFeatures configures audio for every attendee.
type AudioFeatures struct {
	EchoReduction string `json:"EchoReduction,omitempty"`
}

// VideoFeatures configures video for every attendee.
type VideoFeatures struct {
	MaxResolution string `json:"MaxResolution,omitempty"`
}

// ContentFeatures configures content share for every attendee.
type ContentFeatures struct {
	MaxResolution string `json:"MaxResolution,omitempty"`
}

// AttendeeFeatures configures the attendee ceiling of a meeting.
type AttendeeFeatures struct {
	MaxCount *int `json:"MaxCount,omitempty"`
}

// NotificationsConfiguration names where the meeting's events go.
type NotificationsConfiguration struct {
	LambdaFunctionArn string `json:"LambdaFunctionArn,omitempty"`
	SnsTopicArn       string `json:"SnsTopicArn,omitempty"`
	SqsQueueArn       string `json:"SqsQueueArn,omitempty"`
}

// Attendee is the Attendee shape.
type Attendee struct {
	ExternalUserId string                `json:"ExternalUserId,omitempty"`
	AttendeeId     string                `json:"AttendeeId,omitempty"`
	JoinToken      string                `json:"JoinToken,omitempty"`
	Capabilities   *AttendeeCapabilities `json:"Capabilities,omitempty"`
}

// AttendeeCapabilities says what media an attendee may send and receive.
type AttendeeCapabilities struct {
	Audio   string `json:"Audio,omitempty"`
	Video   string `json:"Video,omitempty"`
	Content string `json:"Content,omitempty"`
}

// Tag is a key and value attached to a meeting.
type Tag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

// NewTag returns a tag with both members set.
func NewTag(key, value string) Tag { return Tag{Key: &key, Value: &value} }

// CreateAttendeeError reports one attendee of a batch that was not created.
type CreateAttendeeError struct {
	ExternalUserId string `json:"ExternalUserId,omitempty"`
	ErrorCode      string `json:"ErrorCode,omitempty"`
	ErrorMessage   string `json:"ErrorMessage,omitempty"`
}

// CreateAttendeeRequestItem is one attendee of a batch.
type CreateAttendeeRequestItem struct {
	ExternalUserId string                `json:"ExternalUserId,omitempty"`
	Capabilities   *AttendeeCapabilities `json:"Capabilities,omitempty"`
}

// AttendeeIdItem names one attendee.
type AttendeeIdItem struct {
	AttendeeId string `json:"AttendeeId,omitempty"`
}

// TranscriptionConfiguration chooses the transcription engine and its settings.
type TranscriptionConfiguration struct {
	EngineTranscribeSettings        *EngineTranscribeSettings        `json:"EngineTranscribeSettings,omitempty"`
	EngineTranscribeMedicalSettings *EngineTranscribeMedicalSettings `json:"EngineTranscribeMedicalSettings,omitempty"`
}

// EngineTranscribeSettings configures Amazon Transcribe.
type EngineTranscribeSettings struct {
	LanguageCode                      string `json:"LanguageCode,omitempty"`
	VocabularyFilterMethod            string `json:"VocabularyFilterMethod,omitempty"`
	VocabularyFilterName              string `json:"VocabularyFilterName,omitempty"`
	VocabularyName                    string `json:"VocabularyName,omitempty"`
	Region                            string `json:"Region,omitempty"`
	EnablePartialResultsStabilization *bool  `json:"EnablePartialResultsStabilization,omitempty"`
	PartialResultsStability           string `json:"PartialResultsStability,omitempty"`
	ContentIdentificationType         string `json:"ContentIdentificationType,omitempty"`
	ContentRedactionType              string `json:"ContentRedactionType,omitempty"`
	PiiEntityTypes                    string `json:"PiiEntityTypes,omitempty"`
	LanguageModelName                 string `json:"LanguageModelName,omitempty"`
	IdentifyLanguage                  *bool  `json:"IdentifyLanguage,omitempty"`
	LanguageOptions                   string `json:"LanguageOptions,omitempty"`
	PreferredLanguage                 string `json:"PreferredLanguage,omitempty"`
	VocabularyNames                   string `json:"VocabularyNames,omitempty"`
	VocabularyFilterNames             string `json:"VocabularyFilterNames,omitempty"`
}

// EngineTranscribeMedicalSettings configures Amazon Transcribe Medical.
type EngineTranscribeMedicalSettings struct {
	LanguageCode              string `json:"LanguageCode,omitempty"`
	Specialty                 string `json:"Specialty,omitempty"`
	Type                      string `json:"Type,omitempty"`
	VocabularyName            string `json:"VocabularyName,omitempty"`
	Region                    string `json:"Region,omitempty"`
	ContentIdentificationType string `json:"ContentIdentificationType,omitempty"`
}
