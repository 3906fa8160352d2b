// Package wire translates between package broker's domain types and the
// codecommitd.v1 protobuf messages, and owns the one mapping between broker
// errors and gRPC statuses: ToStatus on the server side, FromStatus on the
// client side. Both directions live here so they cannot drift apart. It
// also owns the two exchanges that are not RPCs: the one-shot's request and
// result (oneshot.go) and a started daemon's readiness report (ready.go).
// Each says what happened by type (a reason, an outcome, a tag byte),
// never by the words of a message.
package wire

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

type mapping struct {
	kind   error
	code   codes.Code
	reason codecommitdv1.ErrorDetail_Reason
}

// mappings is the single table both directions use: every kind a broker
// returns (the others, ErrUnavailable, ErrUntrustedDaemon and
// ErrTemporary, are the client's own; ErrTemporary crosses as the
// ErrorDetail's temporary flag). No code here is one grpc-go produces by
// itself for a failed connection or call (Unavailable, DeadlineExceeded,
// Canceled, Internal, Unknown, ResourceExhausted, Unimplemented), so a
// status that lost its detail never passes for a daemon that is gone.
var mappings = []mapping{
	{broker.ErrInvalidRequest, codes.InvalidArgument, codecommitdv1.ErrorDetail_REASON_INVALID_REQUEST},
	{broker.ErrProfileNotFound, codes.NotFound, codecommitdv1.ErrorDetail_REASON_PROFILE_NOT_FOUND},
	{broker.ErrRegionMissing, codes.FailedPrecondition, codecommitdv1.ErrorDetail_REASON_REGION_MISSING},
	{broker.ErrNoCredentials, codes.FailedPrecondition, codecommitdv1.ErrorDetail_REASON_NO_CREDENTIALS},
	{broker.ErrMFARequired, codes.Unauthenticated, codecommitdv1.ErrorDetail_REASON_MFA_REQUIRED},
	{broker.ErrMFAInvalid, codes.Unauthenticated, codecommitdv1.ErrorDetail_REASON_MFA_INVALID},
	{broker.ErrSSOExpired, codes.Unauthenticated, codecommitdv1.ErrorDetail_REASON_SSO_EXPIRED},
	{broker.ErrSSOSignIn, codes.Unauthenticated, codecommitdv1.ErrorDetail_REASON_SSO_SIGN_IN},
	{broker.ErrLoginExpired, codes.Unauthenticated, codecommitdv1.ErrorDetail_REASON_LOGIN_EXPIRED},
	{broker.ErrAccessDenied, codes.PermissionDenied, codecommitdv1.ErrorDetail_REASON_ACCESS_DENIED},
	{broker.ErrSourceFailed, codes.Aborted, codecommitdv1.ErrorDetail_REASON_SOURCE_FAILED},
	{broker.ErrClockSkew, codes.FailedPrecondition, codecommitdv1.ErrorDetail_REASON_CLOCK_SKEW},
	{broker.ErrPermissionDenied, codes.PermissionDenied, codecommitdv1.ErrorDetail_REASON_PERMISSION_DENIED},
}

// MaxMessage bounds an error message that crosses the wire.
const MaxMessage = 2048

// What both ends of the socket hold to, declared once.
const (
	// MaxRequest bounds a request message: the client sends none larger,
	// and the daemon reads none larger. Requests are a few hundred bytes.
	MaxRequest = 64 << 10
	// SignTimeout bounds one signing request a helper waits for, an MFA
	// prompt included. The daemon lets a connection it asked to move on
	// live longer than that (daemon.MaxConnectionAgeGrace), so no such
	// request is cut.
	SignTimeout = 5 * time.Minute
)

// message is err's text as a status carries it: one line of valid UTF-8
// (a status with invalid UTF-8 cannot be sent), at most MaxMessage bytes.
func message(err error) string { return clean.Line(err.Error(), MaxMessage) }

// ToStatus converts a broker error into a gRPC status error carrying an
// ErrorDetail. Errors of no known kind become codes.Internal; context
// errors keep their codes.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		if m := st.Message(); m != clean.Line(m, MaxMessage) {
			return status.Error(st.Code(), clean.Line(m, MaxMessage))
		}
		return err
	}
	var be *broker.Error
	typed := errors.As(err, &be)
	switch {
	case errors.Is(err, context.Canceled) && !typed:
		return status.Error(codes.Canceled, message(err))
	case errors.Is(err, context.DeadlineExceeded) && !typed:
		return status.Error(codes.DeadlineExceeded, message(err))
	}
	for _, m := range mappings {
		if !errors.Is(err, m.kind) {
			continue
		}
		detail := &codecommitdv1.ErrorDetail{Reason: m.reason, Temporary: errors.Is(err, broker.ErrTemporary)}
		if typed {
			detail.Profile, detail.Profiles = clean.Line(be.Profile, 256), be.Profiles[:min(len(be.Profiles), 100)]
			detail.MfaSerial, detail.MfaProcess = clean.Line(be.MFASerial, 256), clean.Line(be.MFAProcess, 1024)
			detail.CannotPrompt = be.CannotPrompt
			detail.SsoSignIn = signInToProto(be.SignIn)
		}
		st, derr := status.New(m.code, message(err)).WithDetails(detail)
		if derr != nil {
			return status.Error(m.code, message(err))
		}
		return st.Err()
	}
	return status.Error(codes.Internal, message(err))
}

// FromStatus converts a gRPC status error back into a *broker.Error whose
// Kind the caller tests with errors.Is; a detail's temporary flag makes
// ErrTemporary its cause. A status without an ErrorDetail (of a reason
// this client knows) maps by code: Unavailable → ErrUnavailable (no daemon
// answers: the transport says so, never a daemon), PermissionDenied →
// ErrPermissionDenied (the daemon refused the caller), Canceled and
// DeadlineExceeded → the context's errors, anything else →
// ErrSourceFailed. The client's own messages for the transport's failures
// replace the status's text (package client).
func FromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	for _, d := range st.Details() {
		detail, ok := d.(*codecommitdv1.ErrorDetail)
		if !ok {
			continue
		}
		for _, m := range mappings {
			if m.reason != detail.GetReason() {
				continue
			}
			e := &broker.Error{
				Kind: m.kind, Msg: st.Message(), Profile: detail.GetProfile(), Profiles: detail.GetProfiles(),
				MFASerial: detail.GetMfaSerial(), MFAProcess: detail.GetMfaProcess(), CannotPrompt: detail.GetCannotPrompt(),
				SignIn: signInFromProto(detail.GetSsoSignIn()),
			}
			if detail.GetTemporary() {
				e.Err = broker.ErrTemporary
			}
			return e
		}
	}
	kind := broker.ErrSourceFailed
	switch st.Code() {
	case codes.PermissionDenied:
		kind = broker.ErrPermissionDenied
	case codes.Unavailable:
		kind = broker.ErrUnavailable
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return &broker.Error{Kind: kind, Msg: st.Message()}
}

// SignRequestToProto converts a domain request to its message.
func SignRequestToProto(r *broker.SignRequest) *codecommitdv1.SignURLRequest {
	return &codecommitdv1.SignURLRequest{
		Profile: r.Profile, Region: r.Region, Repository: r.Repository, Env: r.Env,
		MfaCode: r.MFACode, Host: r.Host, Client: r.Client,
		Prompt: codecommitdv1.SignURLRequest_Prompt(r.Prompt), MfaPromptFailed: r.MFAPromptFailed,
		SsoSignInShown: r.SSOSignInShown, Browser: r.Browser, Probe: r.Probe,
	}
}

// SignRequestFromProto converts a message to a domain request. Of the
// environment it keeps only broker.EnvVars.
func SignRequestFromProto(m *codecommitdv1.SignURLRequest) *broker.SignRequest {
	env := make(map[string]string, len(m.GetEnv()))
	for _, k := range broker.EnvVars {
		if v, ok := m.GetEnv()[k]; ok {
			env[k] = v
		}
	}
	return &broker.SignRequest{
		Profile: m.GetProfile(), Region: m.GetRegion(), Repository: m.GetRepository(), Env: env,
		MFACode: m.GetMfaCode(), Host: m.GetHost(), Client: m.GetClient(),
		Prompt: broker.Prompt(m.GetPrompt()), MFAPromptFailed: m.GetMfaPromptFailed(),
		SSOSignInShown: m.GetSsoSignInShown(), Browser: m.GetBrowser(), Probe: m.GetProbe(),
	}
}

// SignedURLToProto converts a domain result to its message.
func SignedURLToProto(s *broker.SignedURL) *codecommitdv1.SignURLResponse {
	return &codecommitdv1.SignURLResponse{
		Url: s.URL, Username: s.Username, Password: s.Password, ExpiresAt: ts(s.Expires),
		Profile: s.Profile, Region: s.Region, Warnings: s.Warnings,
	}
}

// SignedURLFromProto converts a message to a domain result.
func SignedURLFromProto(m *codecommitdv1.SignURLResponse) *broker.SignedURL {
	return &broker.SignedURL{
		URL: m.GetUrl(), Username: m.GetUsername(), Password: m.GetPassword(), Expires: tm(m.GetExpiresAt()),
		Profile: m.GetProfile(), Region: m.GetRegion(), Warnings: m.GetWarnings(),
	}
}

// StatusToProto converts a domain status to its message.
func StatusToProto(s *broker.Status) *codecommitdv1.GetStatusResponse {
	m := &codecommitdv1.GetStatusResponse{
		Pid: int64(s.PID), StartedAt: ts(s.StartedAt), Socket: s.Socket, Version: s.Version,
		CachePath: s.CachePath, KeySource: s.KeySource, Environment: s.Environment,
		ClockSkewObservedAt: ts(s.ClockSkewAt), CacheProblem: s.CacheProblem, OnDemand: s.OnDemand,
		Transport: transportStatusToProto(s.Transport),
	}
	if s.IdleExit > 0 {
		m.IdleExit = durationpb.New(s.IdleExit)
	}
	if !s.ClockSkewAt.IsZero() {
		m.ClockSkew = durationpb.New(s.ClockSkew)
	}
	for _, r := range s.RecentProfiles {
		m.RecentProfiles = append(m.RecentProfiles, &codecommitdv1.RecentProfile{Profile: r.Profile, LastUsed: ts(r.LastUsed)})
	}
	for _, p := range s.Profiles {
		m.Profiles = append(m.Profiles, &codecommitdv1.ProfileStatus{
			Profile: p.Profile, ConfigKey: p.ConfigKey, Source: p.Source, AccessKeyId: p.AccessKeyID,
			ExpiresAt: ts(p.Expires), NextRefresh: ts(p.NextRefresh), LastError: p.LastError,
			Requests: p.Requests, LastUsed: ts(p.LastUsed),
			RefreshingSince: ts(p.RefreshingSince), NeedsMfa: p.NeedsMFA, OnReserve: p.OnReserve,
		})
	}
	for _, x := range s.SSOSessions {
		m.SsoSessions = append(m.SsoSessions, &codecommitdv1.SSOSessionStatus{
			Session: x.Session, Name: x.Name, StartUrl: x.StartURL, Region: x.Region, TokenFile: x.TokenFile,
			ExpiresAt: ts(x.Expires), SessionEnds: ts(x.SessionEnds), Renewable: x.Renewable, NextRefresh: ts(x.NextRefresh),
			LastRefresh: ts(x.LastRefresh), Refreshes: int64(x.Refreshes), LastUsed: ts(x.LastUsed), LastError: x.LastError,
			SigningIn: x.SigningIn,
		})
	}
	return m
}

// StatusFromProto converts a message to a domain status.
func StatusFromProto(m *codecommitdv1.GetStatusResponse) *broker.Status {
	s := &broker.Status{
		PID: int(m.GetPid()), StartedAt: tm(m.GetStartedAt()), Socket: m.GetSocket(), Version: m.GetVersion(),
		CachePath: m.GetCachePath(), KeySource: m.GetKeySource(), Environment: m.GetEnvironment(),
		ClockSkew: m.GetClockSkew().AsDuration(), ClockSkewAt: tm(m.GetClockSkewObservedAt()),
		CacheProblem: m.GetCacheProblem(), OnDemand: m.GetOnDemand(),
		Transport: transportStatusFromProto(m.GetTransport()),
	}
	if m.GetIdleExit() != nil {
		s.IdleExit = m.GetIdleExit().AsDuration()
	}
	for _, r := range m.GetRecentProfiles() {
		s.RecentProfiles = append(s.RecentProfiles, broker.RecentProfile{Profile: r.GetProfile(), LastUsed: tm(r.GetLastUsed())})
	}
	for _, p := range m.GetProfiles() {
		s.Profiles = append(s.Profiles, broker.ProfileStatus{
			Profile: p.GetProfile(), ConfigKey: p.GetConfigKey(), Source: p.GetSource(), AccessKeyID: p.GetAccessKeyId(),
			Expires: tm(p.GetExpiresAt()), NextRefresh: tm(p.GetNextRefresh()), LastError: p.GetLastError(),
			Requests: p.GetRequests(), LastUsed: tm(p.GetLastUsed()),
			RefreshingSince: tm(p.GetRefreshingSince()), NeedsMFA: p.GetNeedsMfa(), OnReserve: p.GetOnReserve(),
		})
	}
	for _, x := range m.GetSsoSessions() {
		s.SSOSessions = append(s.SSOSessions, broker.SSOSessionStatus{
			Session: x.GetSession(), Name: x.GetName(), StartURL: x.GetStartUrl(), Region: x.GetRegion(), TokenFile: x.GetTokenFile(),
			Expires: tm(x.GetExpiresAt()), SessionEnds: tm(x.GetSessionEnds()), Renewable: x.GetRenewable(), NextRefresh: tm(x.GetNextRefresh()),
			LastRefresh: tm(x.GetLastRefresh()), Refreshes: int(x.GetRefreshes()), LastUsed: tm(x.GetLastUsed()), LastError: x.GetLastError(),
			SigningIn: x.GetSigningIn(),
		})
	}
	return s
}

// signInToProto converts a sign-in to its message; nil stays nil. Its
// text fields are cut to what a URL or a name needs.
func signInToProto(x *broker.SignIn) *codecommitdv1.SSOSignIn {
	if x == nil {
		return nil
	}
	return &codecommitdv1.SSOSignIn{
		Id: clean.Line(x.ID, 128), Session: clean.Line(x.Session, 256), AuthorizeUrl: clean.Line(x.AuthorizeURL, MaxMessage),
		VerificationUrl: clean.Line(x.VerificationURL, MaxMessage), UserCode: clean.Line(x.UserCode, 64),
		VerificationUrlComplete: clean.Line(x.VerificationURLComplete, MaxMessage), ExpiresAt: ts(x.Expires), Show: x.Show,
	}
}

// signInFromProto converts a message to a sign-in; nil stays nil.
func signInFromProto(m *codecommitdv1.SSOSignIn) *broker.SignIn {
	if m == nil {
		return nil
	}
	return &broker.SignIn{
		ID: m.GetId(), Session: m.GetSession(), AuthorizeURL: m.GetAuthorizeUrl(), VerificationURL: m.GetVerificationUrl(),
		UserCode: m.GetUserCode(), VerificationURLComplete: m.GetVerificationUrlComplete(), Expires: tm(m.GetExpiresAt()), Show: m.GetShow(),
	}
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tm(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}
