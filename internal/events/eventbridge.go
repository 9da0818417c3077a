package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// The service puts every meeting event on EventBridge, in the region of the
// API endpoint that created the meeting; Carillon does the same, onto a bus
// the server names, through the notifications endpoint.

// CheckEventBus checks the form of a bus the server is to deliver to: a
// name, as PutEvents takes it, or an event-bus ARN.
func CheckEventBus(bus string) error {
	if strings.HasPrefix(bus, "arn:") {
		a, err := model.ParseARN(bus)
		name, isBus := strings.CutPrefix(a.Resource, "event-bus/")
		if err != nil || a.Service != "events" || a.Region == "" || !isBus || !validBusName(name) {
			return errors.New("not an event-bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)")
		}
		return nil
	}
	if !validBusName(bus) {
		return errors.New("a bus name has 1 to 256 letters, digits and . - _ /")
	}
	return nil
}

func validBusName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)
		if !ok {
			return false
		}
	}
	return true
}

// eventBusTarget is where a meeting's events go on a bus: the ARN as given,
// or, for a bus named, its region and name ("us-east-1/default"), so that
// each control region's events land in that region, as the service's do.
func eventBusTarget(bus, region string) string {
	if strings.HasPrefix(bus, "arn:") {
		return bus
	}
	return region + "/" + bus
}

// EventBridge returns the sink for event buses (see eventBusTarget).
func (n *Notifier) EventBridge() Sink { return eventBridgeSink{n} }

type eventBridgeSink struct{ n *Notifier }

// parseBusTarget splits what eventBusTarget made into the region to send
// to and the bus to name there.
func parseBusTarget(target string) (region, bus string, err error) {
	if strings.HasPrefix(target, "arn:") {
		a, err := model.ParseARN(target)
		region, bus = a.Region, target
		if err != nil {
			region = ""
		}
	} else {
		region, bus, _ = strings.Cut(target, "/")
	}
	if region == "" || bus == "" {
		return "", "", fmt.Errorf("%q is not an event bus", target)
	}
	return region, bus, nil
}

func (s eventBridgeSink) Deliver(ctx context.Context, target string, e store.Event) error {
	region, bus, err := parseBusTarget(target)
	if err != nil {
		return err
	}
	entry, err := busEntry(e.Payload, bus)
	if err != nil {
		return fmt.Errorf("event %s: %w", e.ID, err)
	}
	out, err := s.n.region(region).eventBridge.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return err
	}
	// PutEvents answers 200 with entries it refused (a bus that does not
	// exist, a throttled entry): those are failures to retry as well.
	if out.FailedEntryCount > 0 {
		if len(out.Entries) > 0 {
			r := out.Entries[0]
			return fmt.Errorf("PutEvents refused the event: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
		return errors.New("PutEvents refused the event, without saying why")
	}
	return nil
}

// busEntry makes a PutEvents entry of an envelope: EventBridge builds the
// envelope again around the detail, with an ID of its own and the bus's
// account.
func busEntry(envelope []byte, bus string) (ebtypes.PutEventsRequestEntry, error) {
	var env struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Time       string          `json:"time"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return ebtypes.PutEventsRequestEntry{}, err
	}
	at, err := time.Parse(time.RFC3339Nano, env.Time)
	if err != nil {
		return ebtypes.PutEventsRequestEntry{}, err
	}
	return ebtypes.PutEventsRequestEntry{
		EventBusName: aws.String(bus),
		Source:       aws.String(env.Source),
		DetailType:   aws.String(env.DetailType),
		Detail:       aws.String(string(env.Detail)),
		Resources:    env.Resources,
		Time:         aws.Time(at),
	}, nil
}
