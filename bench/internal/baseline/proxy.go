package baseline

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"evently.dev/libs/assertion"
)

// ProxyConfig is what the bare proxy needs: where catalog and inventory listen, identity's
// key set, the token claims to require and the services' assertion secret.
type ProxyConfig struct {
	Listen, CatalogURL, InventoryURL, JWKSURL string
	Issuer, Audience, Secret                  string
}

// bareProxy is the yardstick for the gateway's read path: httputil.ReverseProxy, a bearer
// token check with the gateway's rules (EdDSA or ES256 from the JWKS, iss, aud, exp with
// 30 s leeway, verified tokens remembered until they expire) and the HMAC identity
// assertion the services require, and nothing else — no rate limit, CORS, access log,
// tracing or problem+json mapping.
type bareProxy struct {
	cfg       ProxyConfig
	keys      map[string]any
	catalog   *httputil.ReverseProxy
	inventory *httputil.ReverseProxy
	parser    *jwt.Parser
	verified  sync.Map // raw token → verifiedToken
}

type verifiedToken struct {
	id  assertion.Identity
	exp time.Time
}

// ServeProxy runs the bare proxy until ctx ends. It prints "listening <addr>" on out once
// it accepts connections, which is how the bench (its parent process) learns the port.
func ServeProxy(ctx context.Context, cfg ProxyConfig, out io.Writer) error {
	if err := checkLoopbackURL(cfg.CatalogURL, cfg.InventoryURL, cfg.JWKSURL); err != nil {
		return err
	}
	keys, err := fetchKeys(ctx, cfg.JWKSURL)
	if err != nil {
		return err
	}
	p := &bareProxy{cfg: cfg, keys: keys, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{"EdDSA", "ES256"}), jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(30*time.Second), jwt.WithExpirationRequired(), jwt.WithIssuedAt())}
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	for _, up := range []struct {
		raw string
		rp  **httputil.ReverseProxy
	}{{cfg.CatalogURL, &p.catalog}, {cfg.InventoryURL, &p.inventory}} {
		u, err := url.Parse(up.raw)
		if err != nil {
			return err
		}
		*up.rp = &httputil.ReverseProxy{Transport: tr, Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
			r.SetXForwarded()
		}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Clients cut off at the end of a timed run are not failures worth a log line.
			if !errors.Is(err, context.Canceled) {
				fmt.Fprintf(os.Stderr, "bare proxy: %s %s: %v\n", r.Method, r.URL.Path, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		}}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	}()
	fmt.Fprintf(out, "listening %s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (p *bareProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var id assertion.Identity
	if h := r.Header.Get("Authorization"); h != "" {
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			http.Error(w, "bad Authorization header", http.StatusUnauthorized)
			return
		}
		v, err := p.verify(raw)
		if err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		id = v
	} else if r.Method != http.MethodGet {
		http.Error(w, "token required", http.StatusUnauthorized)
		return
	}
	for name := range r.Header {
		if strings.HasPrefix(name, "X-User-") {
			r.Header.Del(name)
		}
	}
	reqID := randHex(8)
	r.Header.Set(assertion.HeaderRequestID, reqID)
	assertion.Sign(r.Header, p.cfg.Secret, id, reqID, time.Now())
	if strings.HasSuffix(r.URL.Path, "/availability") || strings.HasSuffix(r.URL.Path, "/venue/layout") {
		p.inventory.ServeHTTP(w, r)
		return
	}
	p.catalog.ServeHTTP(w, r)
}

func (p *bareProxy) verify(raw string) (assertion.Identity, error) {
	if v, ok := p.verified.Load(raw); ok {
		if t := v.(verifiedToken); time.Now().Before(t.exp) {
			return t.id, nil
		}
	}
	var c struct {
		Role string `json:"role"`
		jwt.RegisteredClaims
	}
	_, err := p.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := p.keys[kid]
		if !ok {
			return nil, errors.New("unknown key")
		}
		return k, nil
	})
	if err != nil {
		return assertion.Identity{}, err
	}
	if c.Subject == "" || (c.Role != assertion.RoleUser && c.Role != assertion.RoleAdmin) {
		return assertion.Identity{}, errors.New("token without subject or role")
	}
	id := assertion.Identity{UserID: c.Subject, Role: c.Role}
	p.verified.Store(raw, verifiedToken{id: id, exp: c.ExpiresAt.Add(30 * time.Second)})
	return id, nil
}

// fetchKeys reads identity's JWKS: Ed25519 and P-256 signing keys by kid.
func fetchKeys(ctx context.Context, jwksURL string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var set struct {
		Keys []struct {
			Kty, Crv, Kid, X, Y string
		} `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]any{}
	for _, k := range set.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil {
			continue
		}
		switch {
		case k.Kty == "OKP" && k.Crv == "Ed25519" && len(x) == ed25519.PublicKeySize:
			keys[k.Kid] = ed25519.PublicKey(x)
		case k.Kty == "EC" && k.Crv == "P-256":
			y, err := base64.RawURLEncoding.DecodeString(k.Y)
			if err != nil {
				continue
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err == nil {
				keys[k.Kid] = pub
			}
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks has no usable key")
	}
	return keys, nil
}

func checkLoopbackURL(urls ...string) error {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		ip := net.ParseIP(u.Hostname())
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("the bare proxy only forwards to loopback, not %q", raw)
		}
	}
	return nil
}

// ProxyProcess is the bare proxy running as a child process of the bench, so its CPU is
// sampled apart from the load generator's.
type ProxyProcess struct {
	cmd *exec.Cmd
	URL string
	Pid int
	// done closes when the process has exited; waitErr is its exit error then.
	done    chan struct{}
	waitErr error
}

// StartProxy re-runs the bench binary as `bench proxy ...` and waits for its address.
func StartProxy(ctx context.Context, cfg ProxyConfig) (*ProxyProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	//nolint:gosec // G204: re-runs this very binary; the arguments are the copy's loopback URLs
	cmd := exec.CommandContext(ctx, self, "proxy", "-listen", "127.0.0.1:0", "-catalog", cfg.CatalogURL,
		"-inventory", cfg.InventoryURL, "-jwks", cfg.JWKSURL, "-issuer", cfg.Issuer, "-audience", cfg.Audience)
	// The secret goes through the environment, not the command line (visible in ps).
	cmd.Env = append(os.Environ(), "BENCH_PROXY_SECRET="+cfg.Secret)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &ProxyProcess{cmd: cmd, Pid: cmd.Process.Pid, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	select {
	case l := <-lines:
		addr, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			p.Stop()
			return nil, fmt.Errorf("bare proxy said %q", l)
		}
		p.URL = "http://" + addr
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("bare proxy exited: %w", p.waitErr)
	case <-time.After(15 * time.Second):
		p.Stop()
		return nil, errors.New("bare proxy did not start within 15 s")
	}
}

// Stop ends the proxy process (it shuts down on SIGINT; killed after 5 s).
func (p *ProxyProcess) Stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
