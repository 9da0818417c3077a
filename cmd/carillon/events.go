package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
)

// eventsCommand talks to a running server's operations endpoint.
func eventsCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("events: want watch, dead-letters or replay")
	}
	sub := args[0]
	fs := flag.NewFlagSet("events "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ops := fs.String("ops", envOr("CARILLON_OPS_URL", "http://127.0.0.1:9464"), "`URL` of the server's operations endpoint (--ops-listen)")
	meetingID := fs.String("meeting-id", "", "only the events of this meeting (watch)")
	positional, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(*ops, "/")
	switch sub {
	case "watch":
		return watchEvents(base, *meetingID, stdout)
	case "dead-letters":
		var out struct {
			DeadLetters []struct {
				EventSeq                                              int64
				EventId, EventType, MeetingId, Destination, LastError string
				Attempts                                              int
			}
		}
		if err := opsCall("GET", base+"/v1/events/dead-letters", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTYPE\tMEETING\tDESTINATION\tATTEMPTS\tLAST ERROR")
		for _, d := range out.DeadLetters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", d.EventSeq, d.EventType, d.MeetingId, d.Destination, d.Attempts, d.LastError)
		}
		return tw.Flush()
	case "replay":
		var req struct{ EventSeqs []int64 }
		for _, a := range positional {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return fmt.Errorf("events replay: %q is not an event sequence number", a)
			}
			req.EventSeqs = append(req.EventSeqs, n)
		}
		body, _ := json.Marshal(req)
		var out struct{ Replayed int }
		if err := opsCall("POST", base+"/v1/events/dead-letters/replay", body, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d deliveries put back in line\n", out.Replayed)
		return nil
	default:
		return fmt.Errorf("events: unknown subcommand %q (want watch, dead-letters or replay)", sub)
	}
}

func opsCall(method, u string, body []byte, out any) error {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is the server running with --ops-listen? %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// watchEvents prints each event of the live stream as one line of JSON.
func watchEvents(base, meetingID string, stdout io.Writer) error {
	u := base + "/v1/events"
	if meetingID != "" {
		u += "?meeting-id=" + url.QueryEscape(meetingID)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is the server running with --ops-listen? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			fmt.Fprintln(stdout, data)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
