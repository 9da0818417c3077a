package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/carillon-dev/carillon/internal/server"
)

// eventsCommand talks to a running server's operations endpoint.
func eventsCommand(args []string, stdout, stderr io.Writer) error {
	sub, fs, err := subcommand("events", args, stderr, "watch, dead-letters or replay")
	if err != nil {
		return err
	}
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
		var out struct{ DeadLetters []server.DeadLetter }
		if err := opsCall("GET", base+"/v1/events/dead-letters", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTYPE\tMEETING\tDESTINATION\tATTEMPTS\tLAST ERROR")
		for _, d := range out.DeadLetters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", d.EventSeq, d.EventType, d.MeetingID, d.Destination, d.Attempts, d.LastError)
		}
		return tw.Flush()
	case "replay":
		var req server.ReplayRequest
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

// opsRequest calls the operations endpoint and returns a successful
// response, or an error that says what went wrong.
func opsRequest(ctx context.Context, method, u string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the server running with --ops-listen? %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

func opsCall(method, u string, body []byte, out any) error {
	resp, err := opsRequest(context.Background(), method, u, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out)
}

// watchEvents prints each event of the live stream as one line of JSON.
func watchEvents(base, meetingID string, stdout io.Writer) error {
	u := base + "/v1/events"
	if meetingID != "" {
		u += "?meeting-id=" + url.QueryEscape(meetingID)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	resp, err := opsRequest(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
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
