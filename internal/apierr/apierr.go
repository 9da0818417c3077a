// Package apierr defines the error classes of the Chime SDK Meetings API and
// the one table that gives each its wire form: HTTP status, the shape name
// sent in x-amzn-ErrorType, and the Code of the error body.
package apierr

import (
	"errors"
	"fmt"
)

// Kind is one modeled error shape of the API (plus the two routing errors
// every AWS rest-json service answers with).
type Kind uint8

// The error kinds, one per exception shape of the model.
const (
	ServiceFailure Kind = iota // the zero value: an unexpected failure
	BadRequest
	Conflict
	Forbidden
	LimitExceeded
	NotFound
	ResourceNotFound
	ServiceUnavailable
	Throttling
	TooManyTags
	Unauthorized
	UnprocessableEntity
	UnknownOperation // no operation matches the method and path
	kindCount
)

// wire is the wire form of one kind.
type wire struct {
	status int
	shape  string
	code   string
}

// wireForms is indexed by Kind. Codes follow the service's ErrorCode values
// (the body of a real NotFoundException says "Code":"NotFound").
var wireForms = [kindCount]wire{
	ServiceFailure:      {500, "ServiceFailureException", "ServiceFailure"},
	BadRequest:          {400, "BadRequestException", "BadRequest"},
	Conflict:            {409, "ConflictException", "Conflict"},
	Forbidden:           {403, "ForbiddenException", "Forbidden"},
	LimitExceeded:       {400, "LimitExceededException", "ResourceLimitExceeded"},
	NotFound:            {404, "NotFoundException", "NotFound"},
	ResourceNotFound:    {404, "ResourceNotFoundException", "NotFound"},
	ServiceUnavailable:  {503, "ServiceUnavailableException", "ServiceUnavailable"},
	Throttling:          {429, "ThrottlingException", "Throttling"},
	TooManyTags:         {400, "TooManyTagsException", "ResourceLimitExceeded"},
	Unauthorized:        {401, "UnauthorizedException", "Unauthorized"},
	UnprocessableEntity: {422, "UnprocessableEntityException", "Unprocessable"},
	UnknownOperation:    {404, "UnknownOperationException", "UnknownOperation"},
}

// Status is the HTTP status of the kind.
func (k Kind) Status() int { return k.wire().status }

// Shape is the model's exception shape name, sent in x-amzn-ErrorType.
func (k Kind) Shape() string { return k.wire().shape }

// Code is the Code member of the error body and of batch error entries.
func (k Kind) Code() string { return k.wire().code }

func (k Kind) wire() wire {
	if k >= kindCount {
		return wireForms[ServiceFailure]
	}
	return wireForms[k]
}

// Kinds lists every kind, so that tables keyed by Kind can be checked for
// completeness.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindCount)
	for k := Kind(0); k < kindCount; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Error is an API error: a kind and a message meant for the caller.
type Error struct {
	Kind    Kind
	Message string
	// ResourceName is the ARN that ResourceNotFound and TooManyTags name.
	ResourceName string
	// RetryAfterSeconds is sent as Retry-After with ServiceUnavailable.
	RetryAfterSeconds int
}

func (e *Error) Error() string { return e.Message }

// New returns an error of the given kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// BadRequestf is a shorthand for the most common kind.
func BadRequestf(format string, args ...any) *Error {
	return New(BadRequest, format, args...)
}

// As returns the *Error inside err, or a ServiceFailure that hides err's
// text: internal details never reach the caller.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: ServiceFailure, Message: "Service has experienced an unexpected failure"}
}

// Is reports whether err is an *Error of kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
