package events

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// Notifier delivers events to the SQS queues and SNS topics that meetings
// name in their NotificationsConfiguration, and to an EventBridge bus,
// through the real AWS endpoints or any compatible server. Credentials
// come from the standard AWS chain (environment, shared files, instance
// roles).
type Notifier struct {
	base aws.Config

	mu        sync.Mutex
	clients   map[string]*regionClients
	queueURLs map[string]string // queue ARN -> URL
}

// regionClients are the clients of one region, made when first needed.
type regionClients struct {
	sqs         *sqs.Client
	sns         *sns.Client
	eventBridge *eventbridge.Client
}

// NewNotifier loads the AWS configuration. endpoint, when set, replaces the
// AWS endpoints (for moto, LocalStack, ...).
func NewNotifier(ctx context.Context, endpoint string) (*Notifier, error) {
	base, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for notifications: %w", err)
	}
	if endpoint != "" {
		base.BaseEndpoint = aws.String(endpoint)
	}
	return &Notifier{base: base, clients: map[string]*regionClients{}, queueURLs: map[string]string{}}, nil
}

// maxRegions bounds the regions whose clients a Notifier keeps: the region
// of a queue or topic ARN is the caller's to choose, and clients are cheap
// to make again.
const maxRegions = 64

func (n *Notifier) region(name string) *regionClients {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.clients[name]
	if !ok {
		if len(n.clients) >= maxRegions {
			for other := range n.clients { // drop one at random
				delete(n.clients, other)
				break
			}
		}
		cfg := n.base.Copy()
		cfg.Region = name
		c = &regionClients{sqs: sqs.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), eventBridge: eventbridge.NewFromConfig(cfg)}
		n.clients[name] = c
	}
	return c
}

func (n *Notifier) queueURL(ctx context.Context, c *sqs.Client, arn model.ARN) (string, error) {
	key := arn.String()
	n.mu.Lock()
	u, ok := n.queueURLs[key]
	n.mu.Unlock()
	if ok {
		return u, nil
	}
	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(arn.Resource), QueueOwnerAWSAccountId: aws.String(arn.AccountID)})
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.queueURLs[key] = *out.QueueUrl
	n.mu.Unlock()
	return *out.QueueUrl, nil
}

// SQS returns the sink for queue ARNs.
func (n *Notifier) SQS() Sink { return sqsSink{n} }

// SNS returns the sink for topic ARNs.
func (n *Notifier) SNS() Sink { return snsSink{n} }

type sqsSink struct{ n *Notifier }

func (s sqsSink) Deliver(ctx context.Context, target string, e store.Event) error {
	arn, err := model.ParseARN(target)
	if err != nil || arn.Service != "sqs" {
		return fmt.Errorf("%q is not an SQS queue ARN", target)
	}
	c := s.n.region(arn.Region).sqs
	url, err := s.n.queueURL(ctx, c, arn)
	if err != nil {
		return err
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(e.Payload))}
	if strings.HasSuffix(arn.Resource, ".fifo") {
		// One ordered stream per meeting; the event ID makes redelivery
		// after a crash a duplicate the queue drops.
		in.MessageGroupId, in.MessageDeduplicationId = aws.String(e.MeetingID), aws.String(e.ID)
	}
	_, err = c.SendMessage(ctx, in)
	return err
}

type snsSink struct{ n *Notifier }

func (s snsSink) Deliver(ctx context.Context, target string, e store.Event) error {
	arn, err := model.ParseARN(target)
	if err != nil || arn.Service != "sns" {
		return fmt.Errorf("%q is not an SNS topic ARN", target)
	}
	in := &sns.PublishInput{TopicArn: aws.String(target), Message: aws.String(string(e.Payload))}
	if strings.HasSuffix(arn.Resource, ".fifo") {
		in.MessageGroupId, in.MessageDeduplicationId = aws.String(e.MeetingID), aws.String(e.ID)
	}
	_, err = s.n.region(arn.Region).sns.Publish(ctx, in)
	return err
}
