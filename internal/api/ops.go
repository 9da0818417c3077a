package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/model"
)

// The operations. Each reads the same way: bind the path and query, decode
// the body, call the service, answer with the modeled status.

func ok(body any) (result, error)    { return result{status: http.StatusOK, body: body}, nil }
func noContent() (result, error)     { return result{status: http.StatusNoContent}, nil }
func emptyOK() (result, error)       { return result{status: http.StatusOK}, nil }
func fail(err error) (result, error) { return result{}, err }

func createMeeting(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.CreateMeetingInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	m, err := h.svc.CreateMeeting(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(model.CreateMeetingOutput{Meeting: m})
}

func createMeetingWithAttendees(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.CreateMeetingWithAttendeesInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	out, err := h.svc.CreateMeetingWithAttendees(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(out)
}

func getMeeting(h *Handler, ctx context.Context, c *call) (result, error) {
	m, err := h.svc.GetMeeting(ctx, c.caller, &model.GetMeetingInput{MeetingId: c.params.meetingID})
	if err != nil {
		return fail(err)
	}
	return ok(model.GetMeetingOutput{Meeting: m})
}

func deleteMeeting(h *Handler, ctx context.Context, c *call) (result, error) {
	if err := h.svc.DeleteMeeting(ctx, c.caller, &model.DeleteMeetingInput{MeetingId: c.params.meetingID}); err != nil {
		return fail(err)
	}
	return noContent()
}

func createAttendee(h *Handler, ctx context.Context, c *call) (result, error) {
	in := model.CreateAttendeeInput{}
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	in.MeetingId = c.params.meetingID
	a, err := h.svc.CreateAttendee(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(model.CreateAttendeeOutput{Attendee: a})
}

func batchCreateAttendee(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.BatchCreateAttendeeInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	in.MeetingId = c.params.meetingID
	out, err := h.svc.BatchCreateAttendee(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(out)
}

func getAttendee(h *Handler, ctx context.Context, c *call) (result, error) {
	a, err := h.svc.GetAttendee(ctx, c.caller, &model.GetAttendeeInput{MeetingId: c.params.meetingID, AttendeeId: c.params.attendeeID})
	if err != nil {
		return fail(err)
	}
	return ok(model.GetAttendeeOutput{Attendee: a})
}

func listAttendees(h *Handler, ctx context.Context, c *call) (result, error) {
	q := c.req.URL.Query()
	in := model.ListAttendeesInput{MeetingId: c.params.meetingID, NextToken: q.Get("next-token")}
	if v, present := q["max-results"]; present {
		n, err := strconv.Atoi(v[0])
		if err != nil {
			return fail(apierr.BadRequestf("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must be an integer", truncate(v[0])))
		}
		in.MaxResults = &n
	}
	out, err := h.svc.ListAttendees(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(out)
}

func deleteAttendee(h *Handler, ctx context.Context, c *call) (result, error) {
	in := model.DeleteAttendeeInput{MeetingId: c.params.meetingID, AttendeeId: c.params.attendeeID}
	if err := h.svc.DeleteAttendee(ctx, c.caller, &in); err != nil {
		return fail(err)
	}
	return noContent()
}

func updateAttendeeCapabilities(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.UpdateAttendeeCapabilitiesInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	in.MeetingId, in.AttendeeId = c.params.meetingID, c.params.attendeeID
	a, err := h.svc.UpdateAttendeeCapabilities(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(model.UpdateAttendeeCapabilitiesOutput{Attendee: a})
}

func batchUpdateAttendeeCapabilitiesExcept(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.BatchUpdateAttendeeCapabilitiesExceptInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	in.MeetingId = c.params.meetingID
	if err := h.svc.BatchUpdateAttendeeCapabilitiesExcept(ctx, c.caller, &in); err != nil {
		return fail(err)
	}
	return emptyOK()
}

func startMeetingTranscription(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.StartMeetingTranscriptionInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	in.MeetingId = c.params.meetingID
	if err := h.svc.StartMeetingTranscription(ctx, c.caller, &in); err != nil {
		return fail(err)
	}
	return emptyOK()
}

func stopMeetingTranscription(h *Handler, ctx context.Context, c *call) (result, error) {
	if err := h.svc.StopMeetingTranscription(ctx, c.caller, &model.StopMeetingTranscriptionInput{MeetingId: c.params.meetingID}); err != nil {
		return fail(err)
	}
	return emptyOK()
}

func tagResource(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.TagResourceInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	if err := h.svc.TagResource(ctx, c.caller, &in); err != nil {
		return fail(err)
	}
	return noContent()
}

func untagResource(h *Handler, ctx context.Context, c *call) (result, error) {
	var in model.UntagResourceInput
	if err := decodeBody(c.body, &in); err != nil {
		return fail(err)
	}
	if err := h.svc.UntagResource(ctx, c.caller, &in); err != nil {
		return fail(err)
	}
	return noContent()
}

func listTagsForResource(h *Handler, ctx context.Context, c *call) (result, error) {
	in := model.ListTagsForResourceInput{ResourceARN: c.req.URL.Query().Get("arn")}
	tags, err := h.svc.ListTagsForResource(ctx, c.caller, &in)
	if err != nil {
		return fail(err)
	}
	return ok(model.ListTagsForResourceOutput{Tags: tags})
}

// truncate shortens a value echoed in an error message.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
