package authserver

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
)

// detailBody returns the body {"detail": detail} and its final newline.
func detailBody(detail string) []byte {
	body, _ := json.Marshal(map[string]string{"detail": detail}) // a map of strings always marshals
	return append(body, '\n')
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeBody(w, status, detailBody(detail))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only fixed, marshalable values reach here.
		writeBody(w, http.StatusInternalServerError, detailBody("Internal error"))
		return
	}
	writeBody(w, status, append(body, '\n'))
}

// writeBody writes body, JSON ending in a newline. It does not modify
// body, which may be shared by many responses.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// tokenRef names the access token c for the revocation store.
func tokenRef(c *jwt.Claims) store.TokenRef {
	return store.TokenRef{ID: c.ID, Subject: c.Subject, FamilyID: c.FamilyID, IssuedAt: c.IssuedAt}
}
