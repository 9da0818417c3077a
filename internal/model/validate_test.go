package model

import (
	"strings"
	"testing"
)

// A batch names the members of the items that break a rule, and only those.
func TestBatchItemViolationsNameTheirMembers(t *testing.T) {
	in := &BatchCreateAttendeeInput{MeetingId: "0195f3a2-1c2b-7d4e-8f90-a1b2c3d4e5f6", Attendees: []CreateAttendeeRequestItem{
		{ExternalUserId: "alice"},
		{ExternalUserId: "b"},
		{ExternalUserId: "carol", Capabilities: &AttendeeCapabilities{Audio: "Loud", Video: "None", Content: "None"}},
	}}
	err := in.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"2 validation errors detected",
		"Value at 'attendees.2.member.externalUserId' failed to satisfy constraint: Member must have length greater than or equal to 2",
		"Value 'Loud' at 'attendees.3.member.capabilities.audio' failed to satisfy constraint: Member must satisfy enum value set"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nwants %q", msg, want)
		}
	}
	if strings.Contains(msg, "attendees.1.") {
		t.Errorf("a valid item is named: %s", msg)
	}
}

// The ExternalUserId check by hand accepts exactly what its pattern does.
func TestExternalUserIDRunesAreThePattern(t *testing.T) {
	for c := rune(0); c <= 0x10ffff; c++ {
		s := "ab" + string(c)
		if got, want := ruleExternalUserID.matches(s), externalUserIDPattern.MatchString(s); got != want {
			t.Errorf("%q (U+%04X): by hand %v, pattern %v", s, c, got, want)
		}
	}
}
