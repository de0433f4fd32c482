/* The CLI's side of the daemon: HTTP requests to its API (one request helper, a lister that follows
 * `next` cursors, the bearer token for writes) and its store, opened directly when the daemon is down. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli.h"
#include "ferry/buf.h"
#include "ferry/store.h"

#define REPLY_MAX (64u << 20)
#define PAGE_MAX 1000u   /* records asked for per page */
#define CURSOR_MAX 1024u /* an escaped cursor */
#define TOKEN_MAX 4096u

void cli_api_base(const struct ferry_config *cfg, char out[CLI_URL_MAX])
{
    const char *host = cfg->api.listen.host;
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, CLI_URL_MAX, "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)cfg->api.listen.port);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return fbuf_add(ud, p, size * n) ? 0 : size * n;
}

enum ferry_err cli_http(const char *method, const char *url, const char *token, const cJSON *body, long *status,
                        cJSON **out)
{
    *out = NULL;
    *status = 0;
    char *payload = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body && !payload)
        return ferry_fail(FERRY_ENOMEM, "out of memory");
    CURL *c = curl_easy_init();
    if (!c) {
        free(payload);
        return ferry_fail(FERRY_ENOMEM, "curl_easy_init failed");
    }
    struct curl_slist *hdr = NULL;
    char auth[TOKEN_MAX + 32] = "";
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    if (payload)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    struct fbuf reply;
    fbuf_init(&reply, REPLY_MAX);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (payload) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (hdr)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    sodium_memzero(auth, sizeof auth);
    free(payload);
    enum ferry_err e = FERRY_OK;
    if (rc == CURLE_COULDNT_CONNECT || (rc == CURLE_OPERATION_TIMEDOUT && *status == 0))
        e = ferry_fail(FERRY_EIO, "no daemon at %s (%s)", url, curl_easy_strerror(rc));
    else if (rc != CURLE_OK)
        e = ferry_fail(FERRY_ERPC, "%s %s: %s", method, url, curl_easy_strerror(rc));
    if (!e && reply.len)
        *out = cJSON_ParseWithLength((const char *)reply.data, reply.len);
    fbuf_free(&reply);
    return e;
}

enum ferry_err cli_api_expect(const char *method, const char *url, long status, const cJSON *j)
{
    if (status >= 200 && status < 300) {
        if (!cJSON_IsObject(j))
            return ferry_fail(FERRY_ERPC, "%s %s: the answer is not a JSON object (HTTP %ld)", method, url, status);
        return FERRY_OK;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    return ferry_fail(status == 404 ? FERRY_ENOTFOUND : FERRY_ERPC, "the daemon answered HTTP %ld: %s", status,
                      cJSON_IsString(err) ? err->valuestring : "(no message)");
}

enum ferry_err cli_api_get(const struct ferry_config *cfg, const char *path, cJSON **out)
{
    char url[CLI_URL_MAX + 1024];
    char base[CLI_URL_MAX];
    cli_api_base(cfg, base);
    snprintf(url, sizeof url, "%s%s", base, path);
    long status;
    enum ferry_err e = cli_http("GET", url, NULL, NULL, &status, out);
    if (!e)
        e = cli_api_expect("GET", url, status, *out);
    if (e) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return e;
}

enum ferry_err cli_api_list(const struct ferry_config *cfg, const char *path, const char *key, const char *query,
                            size_t max, cJSON *all)
{
    char cursor[CURSOR_MAX] = "";
    size_t page = max < PAGE_MAX ? max : PAGE_MAX;
    while ((size_t)cJSON_GetArraySize(all) < max) {
        char rel[CURSOR_MAX + 1024];
        snprintf(rel, sizeof rel, "%s?limit=%zu%s%s%s%s", path, page, *query ? "&" : "", query,
                 *cursor ? "&cursor=" : "", cursor);
        cJSON *ans;
        enum ferry_err e = cli_api_get(cfg, rel, &ans);
        if (e)
            return e;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, key);
        if (!cJSON_IsArray(arr)) {
            cJSON_Delete(ans);
            return ferry_fail(FERRY_ERPC, "GET %s: no \"%s\" array in the answer", path, key);
        }
        while (cJSON_GetArraySize(arr) > 0 && (size_t)cJSON_GetArraySize(all) < max)
            cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(arr, 0));
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(ans, "next");
        bool more = cJSON_IsString(next) && next->valuestring[0];
        /* Cursors are opaque: escape them for the query string. */
        if (more && cli_query_escape(cursor, sizeof cursor, next->valuestring))
            more = false;
        cJSON_Delete(ans);
        if (!more)
            break;
    }
    return FERRY_OK;
}

enum ferry_err cli_query_escape(char *out, size_t cap, const char *value)
{
    CURL *c = curl_easy_init();
    char *esc = c ? curl_easy_escape(c, value, 0) : NULL;
    enum ferry_err e = FERRY_OK;
    if (!esc)
        e = ferry_fail(FERRY_ENOMEM, "out of memory");
    else if (strlen(esc) >= cap)
        e = ferry_fail(FERRY_ERANGE, "query value too long (%zu bytes)", strlen(value));
    else
        snprintf(out, cap, "%s", esc);
    curl_free(esc);
    if (c)
        curl_easy_cleanup(c);
    return e;
}

enum ferry_err cli_query_add(char *q, size_t cap, const char *key, const char *value)
{
    char esc[512];
    enum ferry_err e = cli_query_escape(esc, sizeof esc, value);
    if (e)
        return e;
    size_t len = strlen(q);
    int n = snprintf(q + len, cap - len, "%s%s=%s", len ? "&" : "", key, esc);
    if (n < 0 || (size_t)n >= cap - len)
        return ferry_fail(FERRY_ERANGE, "query string too long");
    return FERRY_OK;
}

/* ---- the token ---- */

enum ferry_err cli_api_token(const struct ferry_config *cfg, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (cfg->api.token_file)
        return secret_read_line(cfg->api.token_file, "api.token_file", TOKEN_MAX, false, out, len);
    if (cfg->api.token_env) {
        const char *v = getenv(cfg->api.token_env);
        if (!v || !*v)
            return ferry_fail(FERRY_EINVAL, "api.token_env names $%s, which is not set", cfg->api.token_env);
        return secret_copy(v, cfg->api.token_env, TOKEN_MAX, out, len);
    }
    return ferry_fail(FERRY_EINVAL, "the config sets no API token (api.token_file or api.token_env): the daemon "
                                    "refuses every write");
}

enum ferry_err cli_api_post(const struct ferry_config *cfg, const char *path, const cJSON *body, bool write,
                            long *status, cJSON **out)
{
    *out = NULL;
    char *token = NULL;
    size_t tlen;
    enum ferry_err e = cli_api_token(cfg, &token, &tlen);
    if (e && write)
        return e;
    if (e) { /* a read that happens to be a POST (prepare) goes without */
        ferry_err_clear();
        token = NULL;
    }
    char base[CLI_URL_MAX], url[CLI_URL_MAX + 1024];
    cli_api_base(cfg, base);
    snprintf(url, sizeof url, "%s%s", base, path);
    e = cli_http("POST", url, token, body, status, out);
    secret_free(token);
    if (e == FERRY_EIO)
        return ferry_fail(FERRY_EIO, "no daemon answers on %s (start it with `ferry start`; changes go through the "
                                     "running daemon)", base);
    if (!e)
        e = cli_api_expect("POST", url, *status, *out);
    if (e) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return e;
}

/* ---- the store ---- */

enum ferry_err cli_store_open(const struct ferry_config *cfg, struct store **out)
{
    *out = NULL;
    struct stat sb;
    /* Reading must not create a store where the daemon never ran. */
    if (stat(cfg->data_dir, &sb) != 0)
        return FERRY_OK;
    enum ferry_err e = store_open(out, "leveldb", cfg->data_dir);
    if (e)
        return ferry_fail_ctx(e, "store %s", cfg->data_dir);
    return FERRY_OK;
}
