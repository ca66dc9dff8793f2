// Package mail renders the waitlist's emails from embedded Go templates (plain text and
// HTML) and delivers them over SMTP with go-mail.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Kinds of email, one template pair each.
const (
	KindJoined           = "waitlist_joined"
	KindOffer            = "waitlist_offer"
	KindOfferExpired     = "waitlist_offer_expired"
	KindBookingConfirmed = "booking_confirmed"
	KindBookingCancelled = "booking_cancelled"
	KindEventCancelled   = "event_cancelled"
)

// Kinds lists every kind of email.
var Kinds = []string{KindJoined, KindOffer, KindOfferExpired, KindBookingConfirmed, KindBookingCancelled, KindEventCancelled}

//go:embed templates/*
var templateFS embed.FS

// SeatLine is one seat as an email lists it.
type SeatLine struct {
	Label string
	Price string
}

// Data is what every template may use; each kind uses what applies to it.
type Data struct {
	FirstName  string
	EventName  string
	EventStart string
	VenueName  string
	Quantity   int
	Position   int
	Section    string
	Seats      []SeatLine
	Total      string
	Deadline   string
	HoldID     string
	BookingRef string
	Refund     string
	Fee        string
	Reason     string
}

// Greeting is the salutation's name, or a neutral one when identity has not told us yet.
func (d Data) Greeting() string {
	if strings.TrimSpace(d.FirstName) == "" {
		return "there"
	}
	return d.FirstName
}

// Message is a rendered email.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var (
	loadOnce sync.Once
	loaded   map[string]kindTemplates
	loadErr  error
)

func load() {
	loaded = map[string]kindTemplates{}
	for _, k := range Kinds {
		t, err := texttemplate.ParseFS(templateFS, "templates/"+k+".txt")
		if err != nil {
			loadErr = fmt.Errorf("mail template %s.txt: %w", k, err)
			return
		}
		h, err := htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/"+k+".html")
		if err != nil {
			loadErr = fmt.Errorf("mail template %s.html: %w", k, err)
			return
		}
		loaded[k] = kindTemplates{text: t, html: h}
	}
}

// Render builds the subject, plain-text and HTML bodies of one kind of email.
func Render(kind string, d Data) (Message, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return Message{}, loadErr
	}
	t, ok := loaded[kind]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown kind %q", kind)
	}
	var subj, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subj, "subject", d); err != nil {
		return Message{}, fmt.Errorf("mail %s subject: %w", kind, err)
	}
	if err := t.text.ExecuteTemplate(&text, "text", d); err != nil {
		return Message{}, fmt.Errorf("mail %s text: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout", d); err != nil {
		return Message{}, fmt.Errorf("mail %s html: %w", kind, err)
	}
	return Message{Subject: strings.TrimSpace(subj.String()), Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// Envelope is one email ready to deliver.
type Envelope struct {
	// ID becomes the Message-ID, so a receiver can recognise a redelivered email.
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
}

// SMTPConfig is where and how to deliver.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is none, starttls or tls.
	TLS     string
	From    string
	Timeout time.Duration
}

// SMTP delivers emails through one mail server.
type SMTP struct{ cfg SMTPConfig }

// NewSMTP returns a mailer for cfg.
func NewSMTP(cfg SMTPConfig) *SMTP { return &SMTP{cfg: cfg} }

func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// SendAll delivers envs over one connection and returns one error (or nil) per envelope.
// A connection failure fails every envelope; once ctx ends, the envelopes not yet sent fail.
func (s *SMTP) SendAll(ctx context.Context, envs []Envelope) []error {
	errs := make([]error, len(envs))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	c, err := s.client()
	if err != nil {
		return fail(fmt.Errorf("smtp client: %w", err))
	}
	if err := c.DialWithContext(ctx); err != nil {
		return fail(fmt.Errorf("smtp dial %s:%d: %w", s.cfg.Host, s.cfg.Port, err))
	}
	defer func() { _ = c.Close() }()
	for i, e := range envs {
		if err := ctx.Err(); err != nil {
			// Out of time: the envelopes not yet sent are tried again on a later pass.
			for j := i; j < len(envs); j++ {
				errs[j] = fmt.Errorf("smtp: not sent: %w", err)
			}
			return errs
		}
		m, err := s.message(e)
		if err == nil {
			err = c.Send(m)
		}
		if err != nil {
			errs[i] = err
			// A refused message may leave the session mid-transaction; start a clean one.
			_ = c.Reset()
		}
	}
	return errs
}

func (s *SMTP) message(e Envelope) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", s.cfg.From, err)
	}
	if err := m.To(e.To); err != nil {
		return nil, fmt.Errorf("to %q: %w", e.To, err)
	}
	m.Subject(e.Subject)
	m.SetMessageIDWithValue(e.ID + "@evently.local")
	m.SetDate()
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	return m, nil
}
