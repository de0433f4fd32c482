#include "httptest.h"

#include <stdio.h>
#include <string.h>

#include "testutil.h"

size_t ht_on_body(char *p, size_t size, size_t n, void *ud)
{
    struct ht_reply *r = ud;
    size_t len = size * n;
    if (r->len + len >= sizeof r->body)
        return 0;
    memcpy(r->body + r->len, p, len);
    r->len += len;
    r->body[r->len] = 0;
    return len;
}

void ht_on_done(struct loop_xfer *x, CURLcode rc, void *ud)
{
    struct ht_reply *r = ud;
    r->rc = rc;
    r->done = 1;
}

struct upload {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t k = size * n;
    if (k > u->len - u->off)
        k = u->len - u->off;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
}

struct ht_reply *ht_request(struct loop *loop, struct store *store, const char *base, const char *method,
                            const char *path, const char *auth, const char *body, size_t body_len, unsigned flags)
{
    static struct ht_reply r;
    memset(&r, 0, sizeof r);
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ht_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *h = NULL;
    char ah[256];
    if (auth) {
        snprintf(ah, sizeof ah, "Authorization: %s", auth);
        h = curl_slist_append(h, ah);
    }
    struct upload u = {body, body_len, 0};
    if (body) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &u);
        if (flags & HT_CHUNKED)
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
        else
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
        if (flags & HT_NO_EXPECT)
            h = curl_slist_append(h, "Expect:");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    struct loop_xfer x;
    assert_int_equal(loop_xfer_start(loop, &x, c, ht_on_done, &r), FERRY_OK);
    uint64_t end = loop_clock_ms() + 10000;
    while (!r.done && loop_clock_ms() < end) {
        assert_int_equal(loop_run_once(loop, 50), FERRY_OK);
        assert_int_equal(store_flush(store), FERRY_OK);
    }
    assert_true(r.done);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(r.content_type, sizeof r.content_type, "%s", ct);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return &r;
}

cJSON *ht_json(const struct ht_reply *r)
{
    assert_int_equal(r->rc, CURLE_OK);
    assert_string_equal(r->content_type, "application/json");
    cJSON *j = cJSON_Parse(r->body);
    if (!j)
        fail_msg("not JSON: %s", r->body);
    return j;
}

void ht_assert_error(const struct ht_reply *r, long status, const char *needle, const char *field)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, r->body);
    cJSON *j = ht_json(r);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (!cJSON_IsString(e))
        fail_msg("no string \"error\" in %s", r->body);
    if (!strstr(e->valuestring, needle))
        fail_msg("error \"%s\" does not say \"%s\"", e->valuestring, needle);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "status")->valueint, status);
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "field");
    if (field) {
        assert_true(cJSON_IsString(fl));
        assert_string_equal(fl->valuestring, field);
    } else if (fl) {
        fail_msg("unexpected field \"%s\" in %s", fl->valuestring, r->body);
    }
    cJSON_Delete(j);
}
