package main

import (
	"embed"
	"net/http"
)

// page is the browser client: plain HTML, CSS and JavaScript, no build
// step and nothing loaded from elsewhere.
//
//go:embed page/index.html page/app.js page/page.css
var page embed.FS

// pageHeaders keep the page's scripts to its own file and its requests to
// its own origin, and keep it out of frames (clickjacking).
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-cache",
}

// pageFile serves one embedded file with its content type.
func pageFile(name, contentType string) (http.Handler, error) {
	body, err := page.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range pageHeaders {
			h.Set(k, v)
		}
		h.Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}), nil
}

// handlePage registers the page's files on mux.
func handlePage(mux *http.ServeMux) error {
	for _, f := range []struct{ pattern, name, contentType string }{
		{"GET /{$}", "page/index.html", "text/html; charset=utf-8"},
		{"GET /app.js", "page/app.js", "text/javascript; charset=utf-8"},
		{"GET /page.css", "page/page.css", "text/css; charset=utf-8"},
	} {
		h, err := pageFile(f.name, f.contentType)
		if err != nil {
			return err
		}
		mux.Handle(f.pattern, h)
	}
	return nil
}
