package meetings

import (
	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/model"
)

// featureOff reports whether a meeting feature was configured off.
func videoOff(f *model.MeetingFeaturesConfiguration) bool {
	return f != nil && f.Video != nil && f.Video.MaxResolution == model.None
}

func contentOff(f *model.MeetingFeaturesConfiguration) bool {
	return f != nil && f.Content != nil && f.Content.MaxResolution == model.None
}

func receives(c string) bool { return c == model.SendReceive || c == model.Receive }

// resolveCapabilities returns the capabilities an attendee gets: the given
// ones if they respect the meeting's features, or the documented defaults.
func resolveCapabilities(given *model.AttendeeCapabilities, f *model.MeetingFeaturesConfiguration) (model.AttendeeCapabilities, error) {
	if given == nil {
		return defaultCapabilities(f), nil
	}
	if err := checkCapabilities(*given, f); err != nil {
		return model.AttendeeCapabilities{}, err
	}
	return *given, nil
}

// defaultCapabilities: SendReceive for everything the meeting offers. A
// meeting without video but with content gives Video Receive and Content
// SendReceive, because content reception needs video reception.
func defaultCapabilities(f *model.MeetingFeaturesConfiguration) model.AttendeeCapabilities {
	c := model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.SendReceive, Content: model.SendReceive}
	switch {
	case videoOff(f) && contentOff(f):
		c.Video, c.Content = model.None, model.None
	case videoOff(f):
		c.Video = model.Receive
	case contentOff(f):
		c.Content = model.None
	}
	return c
}

// checkCapabilities enforces the capability rules of the API reference.
func checkCapabilities(c model.AttendeeCapabilities, f *model.MeetingFeaturesConfiguration) error {
	if videoOff(f) && c.Video != model.None {
		return apierr.BadRequestf("Invalid capabilities: Video must be None because the meeting's MeetingFeatures.Video.MaxResolution is None")
	}
	if contentOff(f) && c.Content != model.None {
		return apierr.BadRequestf("Invalid capabilities: Content must be None because the meeting's MeetingFeatures.Content.MaxResolution is None")
	}
	if receives(c.Content) && !receives(c.Video) {
		return apierr.BadRequestf("Invalid capabilities: Content %s requires Video SendReceive or Receive", c.Content)
	}
	return nil
}
