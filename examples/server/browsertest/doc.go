// Package browsertest drives examples/server's login page in a real
// Chromium with chromedp. It is a module of its own, so that users of
// jwtkit never download chromedp; .ci/run runs it.
package browsertest
