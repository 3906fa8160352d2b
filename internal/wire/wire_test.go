package wire

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/codecommitd/codecommitd/internal/broker"
)

func TestErrorsRoundTrip(t *testing.T) {
	for _, kind := range broker.Kinds {
		if slices.Contains(clientKinds, kind) {
			continue
		}
		t.Run(kind.Error(), func(t *testing.T) {
			in := &broker.Error{Kind: kind, Msg: "profile dev: something; do this", Profile: "dev",
				Profiles: []string{"a", "b"}, MFASerial: "arn:aws:iam::1:mfa/me", MFAProcess: "otp dev"}
			st := ToStatus(in)
			if status.Code(st) == codes.Internal || status.Code(st) == codes.OK {
				t.Fatalf("ToStatus code = %v", status.Code(st))
			}
			out := FromStatus(st)
			if !errors.Is(out, kind) {
				t.Fatalf("FromStatus(ToStatus(%v)) = %v, lost its kind", kind, out)
			}
			var be *broker.Error
			if !errors.As(out, &be) {
				t.Fatalf("not a *broker.Error: %T", out)
			}
			if be.Msg != in.Msg || be.Profile != in.Profile || !reflect.DeepEqual(be.Profiles, in.Profiles) ||
				be.MFASerial != in.MFASerial || be.MFAProcess != in.MFAProcess {
				t.Fatalf("round trip = %+v, want %+v", be, in)
			}
		})
	}
}

// clientKinds are the kinds only a client makes: no daemon returns them.
var clientKinds = []error{broker.ErrUnavailable, broker.ErrUntrustedDaemon, broker.ErrTemporary}

// TestEveryKindIsMapped: a kind either crosses the wire with a reason of
// its own, or is one only a client makes.
func TestEveryKindIsMapped(t *testing.T) {
	for _, kind := range broker.Kinds {
		mapped := slices.ContainsFunc(mappings, func(m mapping) bool { return errors.Is(m.kind, kind) })
		if mapped == slices.Contains(clientKinds, kind) {
			t.Errorf("%v: mapped %v, made by clients only %v: want exactly one", kind, mapped, !mapped)
		}
	}
}

// TestNoKindLooksLikeAGoneDaemon: no kind is sent with a code the gRPC
// library produces itself for a failed connection or call, so a status
// whose detail was lost (WithDetails failing, a proxy dropping it) is still
// not taken for a daemon that is not there, and the client does not start
// another one or resolve in-process for an STS outage.
func TestNoKindLooksLikeAGoneDaemon(t *testing.T) {
	grpcs := []codes.Code{codes.OK, codes.Canceled, codes.Unknown, codes.DeadlineExceeded, codes.ResourceExhausted,
		codes.Unimplemented, codes.Internal, codes.Unavailable}
	for _, m := range mappings {
		if slices.Contains(grpcs, m.code) {
			t.Errorf("%v is sent as %v, which grpc-go produces itself", m.kind, m.code)
		}
		bare := FromStatus(status.Error(m.code, "profile dev: STS failed"))
		if errors.Is(bare, broker.ErrUnavailable) {
			t.Errorf("%v without its detail reads as %v", m.kind, bare)
		}
	}
	if got := FromStatus(status.Error(codes.Aborted, "sts down")); !errors.Is(got, broker.ErrSourceFailed) {
		t.Errorf("a source failure without its detail = %v, want ErrSourceFailed", got)
	}
}

// TestTemporaryCrossesTheWire: whether a failure may pass by itself
// survives the wire; a failure to fix is not made temporary.
func TestTemporaryCrossesTheWire(t *testing.T) {
	temp := broker.Errorf(broker.ErrSourceFailed, "dev", "STS failed (HTTP 503); tries again at 12:00:00").
		WithCause(errors.Join(broker.ErrTemporary, errors.New("503")))
	fixable := broker.Errorf(broker.ErrAccessDenied, "dev", "AWS STS denied the request")
	if got := FromStatus(ToStatus(temp)); !errors.Is(got, broker.ErrTemporary) || !errors.Is(got, broker.ErrSourceFailed) {
		t.Errorf("temporary = %v: lost ErrTemporary or its kind", got)
	}
	if got := FromStatus(ToStatus(fixable)); errors.Is(got, broker.ErrTemporary) || !errors.Is(got, broker.ErrAccessDenied) {
		t.Errorf("fixable = %v: made temporary, or lost its kind", got)
	}
	b, _ := EncodeOneshotResult(nil, temp)
	if _, err := DecodeOneshotResult(b); !errors.Is(err, broker.ErrTemporary) {
		t.Errorf("one-shot result = %v, lost ErrTemporary", err)
	}
}

func TestStatusWithoutDetail(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want error
	}{
		{status.Error(codes.Unavailable, "connection refused"), broker.ErrUnavailable},
		{status.Error(codes.PermissionDenied, "other uid"), broker.ErrPermissionDenied},
		{status.Error(codes.Internal, "boom"), broker.ErrSourceFailed},
		{status.Error(codes.Canceled, "x"), context.Canceled},
		{status.Error(codes.DeadlineExceeded, "x"), context.DeadlineExceeded},
	} {
		if got := FromStatus(tt.err); !errors.Is(got, tt.want) {
			t.Errorf("FromStatus(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if got := status.Code(ToStatus(errors.New("plain"))); got != codes.Internal {
		t.Errorf("ToStatus(plain) code = %v, want Internal", got)
	}
	if got := status.Code(ToStatus(context.Canceled)); got != codes.Canceled {
		t.Errorf("ToStatus(Canceled) code = %v", got)
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := &broker.SignRequest{Profile: "p", Region: "eu-west-1", Repository: "r", Host: "h:1",
		Env: map[string]string{"AWS_PROFILE": "x"}, MFACode: "123456", Client: "c", SSOSignInShown: "id", Browser: true, Probe: true}
	if got := SignRequestFromProto(SignRequestToProto(req)); !reflect.DeepEqual(got, req) {
		t.Errorf("request round trip = %+v", got)
	}
	s := &broker.SignedURL{URL: "https://h/v1/repos/r", Username: "A%T", Password: "P", Expires: now,
		Profile: "p", Region: "eu-west-1", Warnings: []string{"w"}}
	if got := SignedURLFromProto(SignedURLToProto(s)); !reflect.DeepEqual(got, s) {
		t.Errorf("signed URL round trip = %+v", got)
	}
	st := &broker.Status{PID: 7, StartedAt: now, Socket: "/s", Version: "v", CachePath: "/c", KeySource: "k",
		Profiles: []broker.ProfileStatus{{Profile: "p", ConfigKey: "abc", Source: "s", AccessKeyID: "ASIA****",
			Expires: now, NextRefresh: now, LastError: "e", Requests: 3, LastUsed: now}},
		RecentProfiles: []broker.RecentProfile{{Profile: "p", LastUsed: now}},
		Environment:    map[string]string{"HTTPS_PROXY": "http://proxy:3128"},
		ClockSkew:      -7 * time.Minute, ClockSkewAt: now,
		SSOSessions: []broker.SSOSessionStatus{{Session: "sso-session corp", Name: "corp", StartURL: "https://corp.awsapps.com/start",
			Region: "us-east-1", TokenFile: "/t.json", Expires: now, SessionEnds: now.Add(time.Hour), Renewable: true, NextRefresh: now,
			LastRefresh: now, Refreshes: 3, LastUsed: now, LastError: "e", SigningIn: true}}}
	if got := StatusFromProto(StatusToProto(st)); !reflect.DeepEqual(got, st) {
		t.Errorf("status round trip = %+v", got)
	}
}

// TestSignInCrossesTheWire: an ErrSSOSignIn carries its sign-in (what to
// show, and whether this caller shows it) to the client.
func TestSignInCrossesTheWire(t *testing.T) {
	in := &broker.SignIn{ID: "abc", Session: "sso-session corp", VerificationURL: "https://d/device", UserCode: "BCDF-GHJK",
		VerificationURLComplete: "https://d/device?user_code=BCDF-GHJK", Expires: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Show: true}
	out := FromStatus(ToStatus(&broker.Error{Kind: broker.ErrSSOSignIn, Msg: "sign in", Profile: "dev", SignIn: in}))
	var be *broker.Error
	if !errors.As(out, &be) || !errors.Is(out, broker.ErrSSOSignIn) || !reflect.DeepEqual(be.SignIn, in) {
		t.Fatalf("round trip: %+v", out)
	}
	if out := FromStatus(ToStatus(&broker.Error{Kind: broker.ErrSSOExpired, Msg: "m"})); !errors.As(out, &be) || be.SignIn != nil {
		t.Error("a sign-in appeared on an error without one")
	}
}

func TestOneshotRoundTrip(t *testing.T) {
	req := &broker.SignRequest{Profile: "p", Repository: "r", Env: map[string]string{"AWS_PROFILE": "b"}}
	b, err := EncodeOneshotRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeOneshotRequest(b); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("request = %+v, %v", got, err)
	}
	// Only the variables a request may carry get through.
	b, _ = EncodeOneshotRequest(&broker.SignRequest{Repository: "r", Env: map[string]string{"AWS_PROFILE": "b", "LD_PRELOAD": "/x.so"}})
	if got, _ := DecodeOneshotRequest(b); !reflect.DeepEqual(got.Env, map[string]string{"AWS_PROFILE": "b"}) {
		t.Fatalf("env = %v, want only AWS_PROFILE", got.Env)
	}
	ok := &broker.SignedURL{URL: "https://h/v1/repos/r", Username: "u", Password: "p", Expires: time.Unix(100, 0).UTC()}
	b, _ = EncodeOneshotResult(ok, nil)
	if got, err := DecodeOneshotResult(b); err != nil || !reflect.DeepEqual(got, ok) {
		t.Fatalf("ok result = %+v, %v", got, err)
	}
	b, _ = EncodeOneshotResult(nil, broker.Errorf(broker.ErrRegionMissing, "dev", "no region for dev"))
	if _, err := DecodeOneshotResult(b); !errors.Is(err, broker.ErrRegionMissing) || err.Error() != "no region for dev" {
		t.Fatalf("error result = %v", err)
	}
}

func FuzzDecodeOneshotResult(f *testing.F) {
	ok, _ := EncodeOneshotResult(&broker.SignedURL{URL: "https://h/x", Username: "u"}, nil)
	bad, _ := EncodeOneshotResult(nil, broker.Errorf(broker.ErrMFARequired, "p", "m"))
	f.Add(ok)
	f.Add(bad)
	f.Add([]byte{})
	f.Add([]byte{7, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeOneshotResult(b)
		if (s == nil) == (err == nil) {
			t.Fatalf("DecodeOneshotResult = %v, %v: want exactly one of result and error", s, err)
		}
	})
}

func FuzzDecodeOneshotRequest(f *testing.F) {
	b, _ := EncodeOneshotRequest(&broker.SignRequest{Repository: "r", Env: map[string]string{"K": "V"}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeOneshotRequest(b)
		if (r == nil) == (err == nil) {
			t.Fatalf("want exactly one of request and error")
		}
	})
}

func TestStatusMessagesAreSendable(t *testing.T) {
	junk := "profile \xff\xfe\x00bad\n" + strings.Repeat("x", 10*MaxMessage)
	st := status.Convert(ToStatus(broker.Errorf(broker.ErrProfileNotFound, "\xffp", "%s", junk)))
	if m := st.Message(); !utf8.ValidString(m) || len(m) > MaxMessage+8 || strings.ContainsAny(m, "\n\x00") {
		t.Fatalf("message is not one bounded line of UTF-8: %d bytes", len(m))
	}
	if _, err := proto.Marshal(st.Proto()); err != nil {
		t.Fatalf("status does not marshal: %v", err)
	}
	if !errors.Is(FromStatus(st.Err()), broker.ErrProfileNotFound) {
		t.Fatal("kind lost")
	}
}

func TestTransportMessagesRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := &broker.TransportRequest{
		SignRequest: broker.SignRequest{Profile: "p", Repository: "r", Env: map[string]string{"AWS_PROFILE": "x"}, MFACode: "123456", Client: "c"},
		GitConfig:   []broker.ConfigEntry{{Key: "http.proxy", Value: "p:1"}, {Key: "http.https://h/.sslverify", NoValue: true}},
		GitEnv:      map[string]string{"GIT_SSL_CAINFO": "/ca.pem", "https_proxy": ""},
	}
	if got := TransportRequestFromProto(TransportRequestToProto(req)); !reflect.DeepEqual(got, req) {
		t.Errorf("transport request round trip = %+v", got)
	}
	// Of the git environment, only git's variables cross.
	m := TransportRequestToProto(req)
	m.GitEnv["AWS_SECRET_ACCESS_KEY"] = "secret"
	if got := TransportRequestFromProto(m); got.GitEnv["AWS_SECRET_ACCESS_KEY"] != "" || len(got.GitEnv) != 2 {
		t.Errorf("the git environment kept %v", got.GitEnv)
	}
	c := &broker.Capability{URL: "http://127.0.0.1:1/v1/repos/r", Header: "X-Codecommitd-Capability: k", Profile: "p", Region: "eu-west-1", Warnings: []string{"w"}}
	if got := GrantFromProto(GrantToProto(c).GetGrant()); !reflect.DeepEqual(got, c) {
		t.Errorf("grant round trip = %+v", got)
	}
	st := &broker.Status{PID: 7, Transport: &broker.TransportStatus{URL: "http://127.0.0.1:1", Grants: 2,
		Conns: []broker.TransportConn{{Host: "h:443", Proxy: "http://[redacted]@p:1", Protocol: "h2", Opened: now, LastUsed: now, InFlight: 1, Requests: 9}}}}
	if got := StatusFromProto(StatusToProto(st)); !reflect.DeepEqual(got.Transport, st.Transport) {
		t.Errorf("transport status round trip = %+v", got.Transport)
	}
}
