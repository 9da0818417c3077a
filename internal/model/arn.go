package model

import (
	"errors"
	"strings"
)

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition, Service, Region, AccountID, Resource string
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

var errMalformedARN = errors.New("malformed ARN")

// ParseARN splits arn:partition:service:region:account-id:resource.
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, errMalformedARN
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}, nil
}

// Partition returns the ARN partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	default:
		return "aws"
	}
}

// MeetingARN is the ARN of a meeting created through the API in region.
func MeetingARN(region, accountID, meetingID string) string {
	return ARN{Partition: Partition(region), Service: "chime", Region: region, AccountID: accountID, Resource: "meeting/" + meetingID}.String()
}

// MeetingIDFromARN returns the meeting ID an ARN names, if it names a meeting.
func MeetingIDFromARN(s string) (ARN, string, bool) {
	a, err := ParseARN(s)
	if err != nil || a.Service != "chime" {
		return ARN{}, "", false
	}
	id, ok := strings.CutPrefix(a.Resource, "meeting/")
	if !ok || !IsGUID(id) {
		return ARN{}, "", false
	}
	return a, id, true
}
