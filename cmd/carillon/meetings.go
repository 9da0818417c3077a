package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// meetingsCommand shows meetings for people, reading the store directly
// (read-only, so it works beside a running server).
func meetingsCommand(args []string, stdout, stderr io.Writer, now time.Time) error {
	sub, fs, err := subcommand("meetings", args, stderr, "list or show ID")
	if err != nil {
		return err
	}
	dataDir := dataDirFlag(fs, "data `DIR` of the server")
	account := fs.String("account", "", "only this account's meetings (list)")
	all := fs.Bool("all", false, "include ended meetings (list)")
	limit := fs.Int("limit", 50, "at most `N` meetings (list)")
	positional, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := sqlite.OpenReadOnly(ctx, sqlite.FileIn(*dataDir))
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		return listMeetings(ctx, st, stdout, store.MeetingFilter{AccountID: *account, IncludeEnded: *all, Limit: *limit}, now)
	case "show":
		if len(positional) != 1 {
			return errors.New("meetings show: want a meeting ID")
		}
		return showMeeting(ctx, st, stdout, strings.ToLower(positional[0]), now)
	default:
		return fmt.Errorf("meetings: unknown subcommand %q (want list or show)", sub)
	}
}

func age(since, now time.Time) string {
	d := now.Sub(since).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func status(m *store.Meeting, now time.Time) string {
	if m.Active() {
		return "active"
	}
	return fmt.Sprintf("ended %s ago (%s)", age(m.EndedAt, now), m.EndReason)
}

func listMeetings(ctx context.Context, st store.Store, out io.Writer, f store.MeetingFilter, now time.Time) error {
	var ms []store.Meeting
	if err := st.View(ctx, func(r store.Reader) error {
		var err error
		ms, err = r.Meetings(f)
		return err
	}); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEETING ID\tACCOUNT\tEXTERNAL ID\tMEDIA REGION\tATTENDEES\tAGE\tSTATUS")
	for i := range ms {
		m := &ms[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", m.ID, m.AccountID, m.ExternalMeetingID, m.MediaRegion,
			m.AttendeeCount, m.MaxAttendees, age(m.CreatedAt, now), status(m, now))
	}
	if len(ms) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}

func showMeeting(ctx context.Context, st store.Store, out io.Writer, id string, now time.Time) error {
	var (
		m         store.Meeting
		attendees []store.Attendee
		tags      []model.Tag
	)
	err := st.View(ctx, func(r store.Reader) error {
		var err error
		if m, err = r.MeetingByID(id); err != nil {
			return err
		}
		if attendees, err = r.Attendees(m.ID, 0, 1000); err != nil {
			return err
		}
		tags, err = r.Tags(m.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no meeting %s (ended meetings are kept for --ended-retention)", id)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("Meeting ID", m.ID)
	row("ARN", model.MeetingARN(m.APIRegion, m.AccountID, m.ID))
	row("Account", m.AccountID)
	row("External ID", m.ExternalMeetingID)
	row("Host ID", m.MeetingHostID)
	row("Media region", m.MediaRegion)
	row("Primary meeting", m.PrimaryMeetingID)
	row("Tenant IDs", strings.Join(m.Details.TenantIDs, ", "))
	row("Created", fmt.Sprintf("%s (%s ago)", m.CreatedAt.Format(time.RFC3339), age(m.CreatedAt, now)))
	row("Last active", fmt.Sprintf("%s (%s ago)", m.LastActiveAt.Format(time.RFC3339), age(m.LastActiveAt, now)))
	row("Status", status(&m, now))
	row("Attendees", fmt.Sprintf("%d of at most %d", m.AttendeeCount, m.MaxAttendees))
	row("Features", features(m.Details.Features))
	if n := m.Details.Notifications; n != nil {
		row("SQS queue", n.SqsQueueArn)
		row("SNS topic", n.SnsTopicArn)
		row("Lambda", n.LambdaFunctionArn)
	}
	if m.Transcription != nil {
		row("Transcription", "started")
	}
	var kv []string
	for _, t := range tags {
		kv = append(kv, *t.Key+"="+*t.Value)
	}
	row("Tags", strings.Join(kv, ", "))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(attendees) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTENDEE ID\tEXTERNAL USER ID\tAUDIO\tVIDEO\tCONTENT\tADDED")
	for _, a := range attendees {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\n", a.ID, a.ExternalUserID, a.Capabilities.Audio, a.Capabilities.Video,
			a.Capabilities.Content, age(a.CreatedAt, now))
	}
	return tw.Flush()
}

func features(f *model.MeetingFeaturesConfiguration) string {
	if f == nil {
		return "defaults"
	}
	var parts []string
	if f.Audio != nil && f.Audio.EchoReduction != "" {
		parts = append(parts, "echo reduction "+f.Audio.EchoReduction)
	}
	if f.Video != nil && f.Video.MaxResolution != "" {
		parts = append(parts, "video "+f.Video.MaxResolution)
	}
	if f.Content != nil && f.Content.MaxResolution != "" {
		parts = append(parts, "content "+f.Content.MaxResolution)
	}
	if f.Attendee != nil && f.Attendee.MaxCount != nil {
		parts = append(parts, fmt.Sprintf("max %d attendees", *f.Attendee.MaxCount))
	}
	return strings.Join(parts, ", ")
}
