package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/events"
)

// startMoto runs moto_server, an SQS-, SNS- and EventBridge-compatible
// server, for this test, with the credentials Carillon and the test's
// clients send it. Without it the test skips, except in CI, where it must
// run.
func startMoto(t *testing.T) string {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("moto_server is not installed, and CI must run the SQS, SNS and EventBridge tests (pip install 'moto[server]')")
		}
		t.Skip("moto_server is not installed (pip install 'moto[server]'); skipping the SQS, SNS and EventBridge delivery tests")
	}
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("moto_server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func awsConfig(endpoint string) awsv2.Config {
	return awsv2.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: awsv2.String(endpoint),
	}
}

// TestNotificationsToSQSAndSNS creates a meeting whose NotificationsConfiguration
// names a queue and a topic, adds an attendee, and reads both events back
// with an SQS client: the queue directly, and through a raw subscription of
// a second queue to the topic.
func TestNotificationsToSQSAndSNS(t *testing.T) {
	endpoint := startMoto(t)
	ctx := context.Background()
	sq := sqs.NewFromConfig(awsConfig(endpoint))
	sn := sns.NewFromConfig(awsConfig(endpoint))

	direct, directARN := mkQueue(t, sq, "meeting-events")
	viaTopic, viaTopicARN := mkQueue(t, sq, "topic-subscriber")
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: awsv2.String("meeting-events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: awsv2.String("sqs"), Endpoint: awsv2.String(viaTopicARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}

	e := start(t, withConfig(func(c *config.Config) { c.NotificationsEndpoint = endpoint }))
	m := e.createMeeting("notified", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.NotificationsConfiguration = &chimesdkmeetings.NotificationsConfiguration{SqsQueueArn: aws.String(directARN), SnsTopicArn: topic.TopicArn}
	})
	a := e.createAttendee(*m.MeetingId, "alice")

	for name, url := range map[string]string{"queue": direct, "topic": viaTopic} {
		byType := map[string]events.Envelope{}
		for _, env := range receive(t, sq, url, 2) {
			byType[env.Detail.EventType] = env
		}
		if _, ok := byType[events.MeetingStarted]; !ok || len(byType) != 2 {
			t.Fatalf("%s: events = %+v", name, byType)
		}
		added := byType[events.AttendeeAdded]
		want := events.Envelope{Version: "0", ID: added.ID, DetailType: "Chime Meeting State Change", Source: "aws.chime",
			Account: "000000000000", Time: added.Time, Region: "us-east-1", Resources: []string{*m.MeetingArn},
			Detail: events.Detail{Version: "0", EventType: events.AttendeeAdded, Timestamp: added.Detail.Timestamp,
				MeetingID: *m.MeetingId, ExternalMeetingID: "notified", AttendeeID: *a.AttendeeId, ExternalUserID: "alice", MediaRegion: "us-east-1"}}
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(added)
		if string(gotJSON) != string(wantJSON) {
			t.Fatalf("%s: AttendeeAdded\n got %s\nwant %s", name, gotJSON, wantJSON)
		}
	}
}

// mkQueue creates an SQS queue and returns its URL and ARN.
func mkQueue(t *testing.T, sq *sqs.Client, name string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	out, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: awsv2.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return *out.QueueUrl, attrs.Attributes["QueueArn"]
}

// TestEventsOnEventBridge puts the events of a meeting that names no
// destination on an EventBridge bus, as the service does with every
// meeting's, and reads them back through a rule that sends the aws.chime
// events of the default bus to a queue: EventBridge's envelope around the
// detail Carillon renders for every destination.
func TestEventsOnEventBridge(t *testing.T) {
	endpoint := startMoto(t)
	ctx := context.Background()
	sq := sqs.NewFromConfig(awsConfig(endpoint))
	eb := eventbridge.NewFromConfig(awsConfig(endpoint))
	url, arn := mkQueue(t, sq, "chime-rule-target")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: awsv2.String("chime"), EventPattern: awsv2.String(`{"source":["aws.chime"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: awsv2.String("chime"), Targets: []ebtypes.Target{{Id: awsv2.String("queue"), Arn: awsv2.String(arn)}}}); err != nil {
		t.Fatal(err)
	}

	e := start(t, withConfig(func(c *config.Config) { c.NotificationsEndpoint, c.EventBridgeBus = endpoint, "default" }))
	m := e.createMeeting("bridged")
	a := e.createAttendee(*m.MeetingId, "bob")

	got := receive(t, sq, url, 2)
	byType := map[string]events.Envelope{}
	for _, env := range got {
		byType[env.Detail.EventType] = env
	}
	added, ok := byType[events.AttendeeAdded]
	if _, started := byType[events.MeetingStarted]; !ok || !started {
		t.Fatalf("events = %+v", got)
	}
	if added.Source != "aws.chime" || added.DetailType != "Chime Meeting State Change" || added.Region != "us-east-1" ||
		len(added.Resources) != 1 || added.Resources[0] != *m.MeetingArn {
		t.Fatalf("envelope: %+v", added)
	}
	want := events.Detail{Version: "0", EventType: events.AttendeeAdded, Timestamp: added.Detail.Timestamp, MeetingID: *m.MeetingId,
		ExternalMeetingID: "bridged", AttendeeID: *a.AttendeeId, ExternalUserID: "bob", MediaRegion: "us-east-1"}
	if added.Detail != want || added.Detail.Timestamp == 0 {
		t.Fatalf("detail\n got %+v\nwant %+v", added.Detail, want)
	}
}

// receive reads n messages from a queue, each one an event envelope.
func receive(t *testing.T, sq *sqs.Client, url string, n int) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived in %s", len(out), n, url)
		}
		res, err := sq.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: awsv2.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range res.Messages {
			var env events.Envelope
			if err := json.Unmarshal([]byte(*msg.Body), &env); err != nil {
				t.Fatalf("message is not an event: %q", *msg.Body)
			}
			out = append(out, env)
		}
	}
	return out
}
