package model

// The inputs and outputs of the sixteen operations. Members bound to the URI
// or the query string carry `json:"-"`: the api package fills them from the
// request line, the body fills the rest.

type CreateMeetingInput struct {
	ClientRequestToken         string                        `json:"ClientRequestToken,omitempty"`
	MediaRegion                string                        `json:"MediaRegion,omitempty"`
	MeetingHostId              string                        `json:"MeetingHostId,omitempty"`
	ExternalMeetingId          string                        `json:"ExternalMeetingId,omitempty"`
	NotificationsConfiguration *NotificationsConfiguration   `json:"NotificationsConfiguration,omitempty"`
	MeetingFeatures            *MeetingFeaturesConfiguration `json:"MeetingFeatures,omitempty"`
	PrimaryMeetingId           string                        `json:"PrimaryMeetingId,omitempty"`
	TenantIds                  []string                      `json:"TenantIds,omitempty"`
	Tags                       []Tag                         `json:"Tags,omitempty"`
	MediaPlacementNetworkType  string                        `json:"MediaPlacementNetworkType,omitempty"`
}

type CreateMeetingOutput struct {
	Meeting *Meeting `json:"Meeting,omitempty"`
}

type CreateMeetingWithAttendeesInput struct {
	CreateMeetingInput
	Attendees []CreateAttendeeRequestItem `json:"Attendees,omitempty"`
}

type CreateMeetingWithAttendeesOutput struct {
	Meeting   *Meeting              `json:"Meeting,omitempty"`
	Attendees []Attendee            `json:"Attendees"`
	Errors    []CreateAttendeeError `json:"Errors"`
}

type GetMeetingInput struct {
	MeetingId string `json:"-"`
}

type GetMeetingOutput struct {
	Meeting *Meeting `json:"Meeting,omitempty"`
}

type DeleteMeetingInput struct {
	MeetingId string `json:"-"`
}

type CreateAttendeeInput struct {
	MeetingId      string                `json:"-"`
	ExternalUserId string                `json:"ExternalUserId,omitempty"`
	Capabilities   *AttendeeCapabilities `json:"Capabilities,omitempty"`
}

type CreateAttendeeOutput struct {
	Attendee *Attendee `json:"Attendee,omitempty"`
}

type BatchCreateAttendeeInput struct {
	MeetingId string                      `json:"-"`
	Attendees []CreateAttendeeRequestItem `json:"Attendees,omitempty"`
}

type BatchCreateAttendeeOutput struct {
	Attendees []Attendee            `json:"Attendees"`
	Errors    []CreateAttendeeError `json:"Errors"`
}

type GetAttendeeInput struct {
	MeetingId  string `json:"-"`
	AttendeeId string `json:"-"`
}

type GetAttendeeOutput struct {
	Attendee *Attendee `json:"Attendee,omitempty"`
}

type ListAttendeesInput struct {
	MeetingId  string `json:"-"`
	NextToken  string `json:"-"`
	MaxResults *int   `json:"-"`
}

type ListAttendeesOutput struct {
	Attendees []Attendee `json:"Attendees"`
	NextToken string     `json:"NextToken,omitempty"`
}

type DeleteAttendeeInput struct {
	MeetingId  string `json:"-"`
	AttendeeId string `json:"-"`
}

type UpdateAttendeeCapabilitiesInput struct {
	MeetingId    string                `json:"-"`
	AttendeeId   string                `json:"-"`
	Capabilities *AttendeeCapabilities `json:"Capabilities,omitempty"`
}

type UpdateAttendeeCapabilitiesOutput struct {
	Attendee *Attendee `json:"Attendee,omitempty"`
}

type BatchUpdateAttendeeCapabilitiesExceptInput struct {
	MeetingId           string                `json:"-"`
	ExcludedAttendeeIds []AttendeeIdItem      `json:"ExcludedAttendeeIds,omitempty"`
	Capabilities        *AttendeeCapabilities `json:"Capabilities,omitempty"`
}

type StartMeetingTranscriptionInput struct {
	MeetingId                  string                      `json:"-"`
	TranscriptionConfiguration *TranscriptionConfiguration `json:"TranscriptionConfiguration,omitempty"`
}

type StopMeetingTranscriptionInput struct {
	MeetingId string `json:"-"`
}

type TagResourceInput struct {
	ResourceARN string `json:"ResourceARN,omitempty"`
	Tags        []Tag  `json:"Tags,omitempty"`
}

type UntagResourceInput struct {
	ResourceARN string   `json:"ResourceARN,omitempty"`
	TagKeys     []string `json:"TagKeys,omitempty"`
}

type ListTagsForResourceInput struct {
	ResourceARN string `json:"-"`
}

type ListTagsForResourceOutput struct {
	Tags []Tag `json:"Tags"`
}

// Operations lists the operation names of the API.
func Operations() []string {
	return []string{
		"BatchCreateAttendee", "BatchUpdateAttendeeCapabilitiesExcept", "CreateAttendee", "CreateMeeting",
		"CreateMeetingWithAttendees", "DeleteAttendee", "DeleteMeeting", "GetAttendee", "GetMeeting",
		"ListAttendees", "ListTagsForResource", "StartMeetingTranscription", "StopMeetingTranscription",
		"TagResource", "UntagResource", "UpdateAttendeeCapabilities",
	}
}
