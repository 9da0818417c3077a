package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// errorBody is the JSON body of every error: the modeled members Code,
// Message and RequestId, plus ResourceName for the two shapes that have it.
type errorBody struct {
	Code         string `json:"Code"`
	Message      string `json:"Message"`
	RequestId    string `json:"RequestId"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// writeError sends an error in the wire form the SDKs parse: the shape name
// in x-amzn-ErrorType (read first by every SDK) and the JSON body.
func (h *Handler) writeError(rec *recorder, e *apierr.Error) {
	hdr := rec.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("x-amzn-ErrorType", e.Kind.Shape())
	if e.Kind == apierr.ServiceUnavailable {
		hdr.Set("Retry-After", retryAfterHeader(e))
	}
	rec.errorCode = e.Kind.Shape()
	b, err := json.Marshal(errorBody{Code: e.Kind.Code(), Message: e.Message, RequestId: rec.requestID, ResourceName: e.ResourceName})
	if err != nil {
		b = []byte(`{"Code":"ServiceFailure","Message":"Service has experienced an unexpected failure"}`)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	rec.WriteHeader(e.Kind.Status())
	rec.Write(b) //nolint:errcheck // the client may be gone; nothing to do
}

// writeResult sends a successful result.
func (h *Handler) writeResult(rec *recorder, res result) {
	hdr := rec.Header()
	if res.body == nil {
		hdr.Set("Content-Length", "0")
		rec.WriteHeader(res.status)
		return
	}
	b, err := json.Marshal(res.body)
	if err != nil {
		rec.internal = err
		h.writeError(rec, apierr.As(nil))
		return
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	rec.WriteHeader(res.status)
	rec.Write(b) //nolint:errcheck // the client may be gone; nothing to do
}

// decodeBody reads a JSON object into v. An empty body is an empty object.
// Every failure is a BadRequest that says what was wrong and where.
func decodeBody(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return apierr.BadRequestf("The request body must be a JSON object")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return apierr.BadRequestf("The request body is not valid JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apierr.BadRequestf("The request body must be a JSON object")
		}
		return apierr.BadRequestf("Invalid type for field %s: expected %s, got JSON %s", field, jsonKind(typeErr.Type.String()), typeErr.Value)
	default:
		return apierr.BadRequestf("The request body could not be decoded: %s", err.Error())
	}
}

// jsonKind names a Go type the way the API's documentation would.
func jsonKind(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "int", "*int", "int64":
		return "an integer"
	case "bool", "*bool":
		return "a boolean"
	}
	if strings.HasPrefix(goType, "[]") {
		return "a list"
	}
	return "an object"
}
