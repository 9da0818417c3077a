package meetings

import (
	"context"
	"errors"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// maxTags is how many tags one meeting may carry.
const maxTags = 50

func resourceNotFound(arn string) error {
	return &apierr.Error{Kind: apierr.ResourceNotFound, Message: "Resource " + arn + " not found", ResourceName: arn}
}

// taggedMeeting finds the meeting that an ARN names and the caller sees,
// reading it with get. The ARN must be exactly the meeting's: same
// partition, region and account. Anything else is ResourceNotFound, whether
// or not such a meeting exists elsewhere.
func taggedMeeting(c Caller, arn string, get func(accountID, id string) (store.Meeting, error)) (store.Meeting, error) {
	a, id, ok := model.MeetingIDFromARN(arn)
	if !ok {
		return store.Meeting{}, resourceNotFound(arn)
	}
	id = normalizeID(id)
	a.Resource = "meeting/" + id
	m, err := get(c.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Meeting{}, resourceNotFound(arn)
	}
	if err != nil {
		return store.Meeting{}, err
	}
	if !c.sees(&m) || model.MeetingARN(m.APIRegion, m.AccountID, m.ID) != a.String() {
		return store.Meeting{}, resourceNotFound(arn)
	}
	return m, nil
}

// TagResource adds or replaces tags on a meeting, up to 50 in all.
func (s *Service) TagResource(ctx context.Context, c Caller, in *model.TagResourceInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "TagResource", func(w store.Writer) error {
		m, err := taggedMeeting(c, in.ResourceARN, w.LockMeeting)
		if err != nil {
			return err
		}
		current, err := w.Tags(m.ID)
		if err != nil {
			return err
		}
		keys := make(map[string]bool, len(current)+len(in.Tags))
		for _, t := range current {
			keys[*t.Key] = true
		}
		for _, t := range in.Tags {
			keys[*t.Key] = true
		}
		if len(keys) > maxTags {
			return &apierr.Error{Kind: apierr.TooManyTags, ResourceName: in.ResourceARN,
				Message: "Too many tags: a meeting can have at most 50 tags"}
		}
		return w.PutTags(m.ID, in.Tags)
	})
}

// UntagResource removes tags by key; keys the meeting lacks are ignored.
func (s *Service) UntagResource(ctx context.Context, c Caller, in *model.UntagResourceInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "UntagResource", func(w store.Writer) error {
		m, err := taggedMeeting(c, in.ResourceARN, w.LockMeeting)
		if err != nil {
			return err
		}
		return w.DeleteTags(m.ID, in.TagKeys)
	})
}

// ListTagsForResource returns a meeting's tags sorted by key.
func (s *Service) ListTagsForResource(ctx context.Context, c Caller, in *model.ListTagsForResourceInput) ([]model.Tag, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var tags []model.Tag
	err := s.view(ctx, "ListTagsForResource", func(r store.Reader) error {
		m, err := taggedMeeting(c, in.ResourceARN, r.Meeting)
		if err != nil {
			return err
		}
		tags, err = r.Tags(m.ID)
		return err
	})
	return tags, err
}
