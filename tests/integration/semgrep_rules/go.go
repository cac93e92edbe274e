// Test targets for policies/semgrep/go.yaml (semgrep --test format).
// "ruleid" marks the next line as a required finding, "ok" as a required non-finding.
package main

import (
	"context"
	"crypto/aes"
	"crypto/des"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"fmt"
	htmltemplate "html/template"
	"html"
	"io"
	mrand "math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const baseDir = "/srv/files"

// ---------------------------------------------------------------- SQL injection
func queries(ctx context.Context, db *sql.DB, id string, name string, order string) error {
	// ruleid: go-sql-injection-sprintf
	rows, err := db.Query(fmt.Sprintf("SELECT * FROM users WHERE id = '%s'", id))
	if err != nil {
		return err
	}
	defer rows.Close()
	// ruleid: go-sql-injection-sprintf
	q := fmt.Sprintf("DELETE FROM sessions WHERE user = '%s'", name)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return err
	}
	// ok: go-sql-injection-sprintf
	row := db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = $1", id)
	// ok: go-sql-injection-sprintf
	label := fmt.Sprintf("user %s logged in", name)

	// ruleid: go-sql-injection-concat
	rows2, err := db.QueryContext(ctx, "SELECT id FROM users ORDER BY "+order)
	if err != nil {
		return err
	}
	defer rows2.Close()
	// ruleid: go-sql-injection-concat
	_, err = db.Exec("UPDATE users SET name = '" + name + "' WHERE id = 1")
	// ok: go-sql-injection-concat
	_, err = db.Exec("UPDATE users SET name = $1 WHERE id = $2", name, id)
	fmt.Println(row, label)
	return err
}

// ---------------------------------------------------------- command injection
func runCommands(ctx context.Context, host string) ([]byte, error) {
	// ruleid: go-exec-shell-command
	out, err := exec.Command("sh", "-c", "ping -c 1 "+host).Output()
	if err != nil {
		return nil, err
	}
	// ruleid: go-exec-shell-command
	_ = exec.CommandContext(ctx, "/bin/bash", "-c", fmt.Sprintf("nslookup %s", host)).Run()
	// ok: go-exec-shell-command
	_ = exec.CommandContext(ctx, "ping", "-c", "1", host).Run()
	// ok: go-exec-shell-command
	_ = exec.Command("sh", "-c", "uptime").Run()
	return out, nil
}

// ------------------------------------------------------------------------- XSS
func greet(w http.ResponseWriter, r *http.Request) {
	t := template.Must(template.New("greet").Parse("<h1>Hello {{.}}</h1>"))
	// ruleid: go-text-template-html-response
	_ = t.Execute(w, r.FormValue("name"))
	// ok: go-text-template-html-response
	_ = t.Execute(os.Stdout, "config file")
}

func renderBio(bio string) htmltemplate.HTML {
	// ok: go-html-template-unescaped-cast
	_ = htmltemplate.HTML("<hr/>")
	// ok: go-html-template-unescaped-cast
	_ = htmltemplate.HTML(html.EscapeString(bio))
	// ruleid: go-html-template-unescaped-cast
	return htmltemplate.HTML("<div>" + bio + "</div>")
}

func echo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	// ruleid: go-reflected-xss-responsewriter
	fmt.Fprintf(w, "<p>You searched for %s</p>", q)
	// ruleid: go-reflected-xss-responsewriter
	w.Write([]byte("<p>" + r.FormValue("name") + "</p>"))
	// ok: go-reflected-xss-responsewriter
	fmt.Fprintf(w, "<p>You searched for %s</p>", html.EscapeString(q))
	// ok: go-reflected-xss-responsewriter
	io.WriteString(w, "<p>static</p>")
}

// --------------------------------------------------------- TLS verification
func clients() (*http.Client, *http.Client) {
	insecure := &http.Client{Transport: &http.Transport{
		// ruleid: go-tls-insecure-skip-verify
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	// ok: go-tls-insecure-skip-verify
	secure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	return insecure, secure
}

func legacyTLS() (*tls.Config, *tls.Config) {
	// ruleid: go-tls-weak-min-version
	old := &tls.Config{MinVersion: tls.VersionTLS10}
	// ok: go-tls-weak-min-version
	modern := &tls.Config{MinVersion: tls.VersionTLS13}
	return old, modern
}

func sshConfigs(user string) (*ssh.ClientConfig, *ssh.ClientConfig, error) {
	bad := &ssh.ClientConfig{
		User: user,
		// ruleid: go-ssh-insecure-host-key
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	}
	// ok: go-ssh-insecure-host-key
	cb, err := knownhosts.New("/home/deploy/.ssh/known_hosts")
	good := &ssh.ClientConfig{User: user, HostKeyCallback: cb}
	return bad, good, err
}

// ---------------------------------------------------------------- weak crypto
func digests(password string, payload []byte) {
	// ruleid: go-weak-hash
	sum := md5.Sum([]byte(password))
	// ruleid: go-weak-hash
	h := sha1.New()
	h.Write(payload)
	// ok: go-weak-hash
	strong := sha256.Sum256(payload)
	fmt.Println(sum, h.Sum(nil), strong)
}

func ciphers(key []byte) error {
	// ruleid: go-weak-cipher
	block, err := des.NewCipher(key)
	if err != nil {
		return err
	}
	// ruleid: go-weak-cipher
	stream, err := rc4.NewCipher(key)
	if err != nil {
		return err
	}
	// ok: go-weak-cipher
	strong, err := aes.NewCipher(key)
	fmt.Println(block, stream, strong)
	return err
}

func generateSessionToken() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	for i := range b {
		// ruleid: go-math-rand-secret
		b[i] = letters[mrand.Intn(len(letters))]
	}
	return string(b)
}

func backoff(attempt int) int {
	// ok: go-math-rand-secret
	jitter := mrand.Intn(100)
	return attempt*100 + jitter
}

// -------------------------------------------------------------- path traversal
func download(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("file")
	// ruleid: go-path-traversal
	data, err := os.ReadFile(filepath.Join(baseDir, name))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	// ok: go-path-traversal
	safe, _ := os.ReadFile(filepath.Join(baseDir, filepath.Base(name)))
	// ruleid: go-path-traversal
	http.ServeFile(w, r, r.FormValue("path"))
	// ok: go-path-traversal
	http.ServeFile(w, r, filepath.Join(baseDir, "index.html"))
	w.Write(data)
	w.Write(safe)
}

// ----------------------------------------------------------------------- SSRF
func proxy(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	// ruleid: go-ssrf
	resp, err := http.Get(target)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	// ruleid: go-ssrf
	req, _ := http.NewRequest(http.MethodPost, "https://"+r.FormValue("host")+"/hook", nil)
	// ok: go-ssrf
	status, _ := http.Get("https://status.example.com/health")
	fmt.Println(req, status)
}

// -------------------------------------------------------------- open redirect
func login(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if next == "" {
		// ok: go-open-redirect
		http.Redirect(w, r, "/home", http.StatusFound)
		return
	}
	if next == "profile" {
		// ok: go-open-redirect
		http.Redirect(w, r, "/users/"+r.FormValue("user"), http.StatusFound)
		return
	}
	// ruleid: go-open-redirect
	http.Redirect(w, r, next, http.StatusFound)
}

// -------------------------------------------------------------------- secrets
// ruleid: go-hardcoded-secret
const dbPassword = "Sup3r-S3cret-Pw!"

type Config struct {
	Host   string
	APIKey string
}

func configs() Config {
	// ruleid: go-hardcoded-secret
	apiToken := "ghp_1234567890abcdefghij"
	// ok: go-hardcoded-secret
	secretKey := os.Getenv("SECRET_KEY")
	// ok: go-hardcoded-secret
	passwordResetURL := "/account/password/reset"
	fmt.Println(apiToken, secretKey, passwordResetURL)
	return Config{
		Host: "db.internal",
		// ruleid: go-hardcoded-secret
		APIKey: "AKIAEXAMPLE1234567890",
	}
}

// ------------------------------------------------------------ insecure cookie
func setSession(w http.ResponseWriter, value string) {
	// ruleid: go-insecure-cookie
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: value})
	// ok: go-insecure-cookie
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: value, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// -------------------------------------------------------------- network config
func listen() error {
	// ruleid: go-bind-all-interfaces
	ln, err := net.Listen("tcp", "0.0.0.0:8080")
	if err != nil {
		return err
	}
	defer ln.Close()
	// ok: go-bind-all-interfaces
	return http.ListenAndServe("127.0.0.1:8081", nil)
}

// ------------------------------------------------------------ credentials in URLs
// ruleid: go-credentials-in-url
var redisURL = "redis://default:Pa55w0rdXyz@cache:6379/0"

// ok: go-credentials-in-url
var localRedis = "redis://cache:6379/0"

// ------------------------------------------------------------------------ JWT
func claimsOf(tokenString string, key []byte) (*jwt.Token, error) {
	parser := jwt.NewParser()
	// ruleid: go-jwt-verification-disabled
	unverified, _, _ := parser.ParseUnverified(tokenString, jwt.MapClaims{})
	_ = unverified
	return jwt.Parse(tokenString, func(t *jwt.Token) (interface{}, error) {
		if t.Method == jwt.SigningMethodNone {
			// ruleid: go-jwt-verification-disabled
			return jwt.UnsafeAllowNoneSignatureType, nil
		}
		// ok: go-jwt-verification-disabled
		return key, nil
	}, jwt.WithValidMethods([]string{"HS256"}))
}

func main() {
	fmt.Println(dbPassword, configs(), redisURL, localRedis)
}

