// Package http is identity's HTTP adapter: routes, request decoding and response shapes.
// Business rules live in app and domain.
package http

import (
	"time"

	"evently.dev/services/identity/internal/app"
	"evently.dev/services/identity/internal/domain"
)

type registerRequest struct {
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     string  `json:"email"`
	Password  string  `json:"password"`
	Role      *string `json:"role"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type roleRequest struct {
	Role string `json:"role"`
}

// registration validates a decoded sign-up body (422 for rule violations).
func (req registerRequest) registration() (domain.Registration, error) {
	return domain.NewRegistration(req.FirstName, req.LastName, req.Email, req.Password, req.Role)
}

// userResponse is the public view of an account: never the password hash.
type userResponse struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toUser(u domain.User) userResponse {
	return userResponse{ID: u.ID.String(), FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		Role: string(u.Role), CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

type sessionResponse struct {
	User         userResponse `json:"user"`
	AccessToken  string       `json:"access_token"`
	RefreshToken string       `json:"refresh_token"`
	TokenType    string       `json:"token_type"`
	ExpiresIn    int          `json:"expires_in"`
}

func toSession(s app.Session) sessionResponse {
	return sessionResponse{User: toUser(s.User), AccessToken: s.AccessToken, RefreshToken: s.RefreshToken,
		TokenType: "Bearer", ExpiresIn: int(s.ExpiresIn / time.Second)}
}
