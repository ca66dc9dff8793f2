package domain

import "evently.dev/libs/apperr"

// Errors of identity's use cases; the shared handler renders them as problem+json.
var (
	ErrEmailTaken = apperr.New(apperr.KindConflict, "email_taken", "an account with this email already exists")
	// ErrInvalidCredentials is the one answer to an unknown email and a wrong password, so
	// the response does not reveal which accounts exist.
	ErrInvalidCredentials  = apperr.New(apperr.KindUnauthenticated, "invalid_credentials", "the email or password is incorrect")
	ErrInvalidRefreshToken = apperr.New(apperr.KindUnauthenticated, "invalid_refresh_token", "the refresh token is invalid, expired or revoked")
	ErrUserNotFound        = apperr.New(apperr.KindNotFound, "user_not_found", "no user has this id")
	ErrLastAdmin           = apperr.New(apperr.KindConflict, "last_admin", "the last ADMIN cannot lose the role")
	// ErrLoginThrottled refuses an attempt on an account with too many recent failures.
	ErrLoginThrottled = apperr.New(apperr.KindRateLimited, "login_throttled", "too many failed logins for this account; wait and retry")
	ErrWrongPassword  = apperr.Validation(apperr.KindUnprocessable, apperr.FieldError{Field: "current_password", Message: "is incorrect"})
)
