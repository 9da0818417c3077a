package meetings

import (
	"testing"

	"github.com/carillon-dev/carillon/internal/model"
)

func features(video, content string) *model.MeetingFeaturesConfiguration {
	f := &model.MeetingFeaturesConfiguration{}
	if video != "" {
		f.Video = &model.VideoFeatures{MaxResolution: video}
	}
	if content != "" {
		f.Content = &model.ContentFeatures{MaxResolution: content}
	}
	return f
}

func TestDefaultCapabilities(t *testing.T) {
	for _, tc := range []struct {
		f    *model.MeetingFeaturesConfiguration
		want model.AttendeeCapabilities
	}{
		{nil, model.AttendeeCapabilities{Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive"}},
		{features("HD", "FHD"), model.AttendeeCapabilities{Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive"}},
		{features("None", ""), model.AttendeeCapabilities{Audio: "SendReceive", Video: "Receive", Content: "SendReceive"}},
		{features("None", "UHD"), model.AttendeeCapabilities{Audio: "SendReceive", Video: "Receive", Content: "SendReceive"}},
		{features("", "None"), model.AttendeeCapabilities{Audio: "SendReceive", Video: "SendReceive", Content: "None"}},
		{features("None", "None"), model.AttendeeCapabilities{Audio: "SendReceive", Video: "None", Content: "None"}},
	} {
		got, err := resolveCapabilities(nil, tc.f)
		if err != nil || got != tc.want {
			t.Errorf("features %+v: got %+v %v, want %+v", tc.f, got, err, tc.want)
		}
		// The defaults always satisfy the rules they are checked against,
		// except the documented Video Receive of a meeting without video.
		if tc.f == nil || tc.f.Video == nil || tc.f.Video.MaxResolution != "None" || got.Video == "None" {
			if err := checkCapabilities(got, tc.f); err != nil {
				t.Errorf("defaults %+v break the rules: %v", got, err)
			}
		}
	}
}

func TestCapabilityRules(t *testing.T) {
	for _, tc := range []struct {
		f       *model.MeetingFeaturesConfiguration
		v, c    string
		allowed bool
	}{
		{nil, "SendReceive", "SendReceive", true},
		{nil, "Receive", "Receive", true},
		{nil, "Send", "Receive", false},                  // content reception needs video reception
		{nil, "None", "SendReceive", false},              // likewise
		{nil, "None", "Send", true},                      // sending content alone is fine
		{nil, "Receive", "None", true},                   // video may receive while content does not
		{features("None", ""), "Receive", "None", false}, // no video in the meeting
		{features("None", ""), "None", "Send", true},
		{features("None", ""), "None", "Receive", false},
		{features("", "None"), "SendReceive", "Send", false}, // no content in the meeting
		{features("", "None"), "Send", "None", true},
		{features("None", "None"), "None", "None", true},
		{features("None", "None"), "Send", "None", false},
	} {
		err := checkCapabilities(model.AttendeeCapabilities{Audio: "SendReceive", Video: tc.v, Content: tc.c}, tc.f)
		if (err == nil) != tc.allowed {
			t.Errorf("features %+v video %s content %s: err %v, want allowed=%v", tc.f, tc.v, tc.c, err, tc.allowed)
		}
	}
}
