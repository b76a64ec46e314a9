#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

// libcurl is loaded on first use with dlopen instead of being linked: its 30-odd dependent libraries
// cost every process ~10 ms at start-up, and most commands never make an HTTP request.
// curl_easy_setopt and curl_easy_getinfo are variadic; Swift calls the typed wrappers below.

typedef size_t (*gml_curl_write_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);

struct gml_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
    char *(*version)(void);
    curl_version_info_data *(*version_info)(CURLversion age);
};

/// The one table of resolved functions (a function-local static, so that it is defined where used).
static inline struct gml_curl_api *gml_curl_table(void) {
    static struct gml_curl_api api;
    return &api;
}
#define gml_curl (*gml_curl_table())

/// Loads libcurl and resolves the functions used; returns NULL on success or dlerror()'s message.
static inline const char *gml_curl_load(void) {
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcurl.4.dylib", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return dlerror();
#define GML_RESOLVE(field, symbol) \
    if (!(*(void **)(&gml_curl.field) = dlsym(lib, symbol))) return dlerror();
    GML_RESOLVE(global_init, "curl_global_init")
    GML_RESOLVE(easy_init, "curl_easy_init")
    GML_RESOLVE(easy_cleanup, "curl_easy_cleanup")
    GML_RESOLVE(easy_setopt, "curl_easy_setopt")
    GML_RESOLVE(easy_getinfo, "curl_easy_getinfo")
    GML_RESOLVE(easy_perform, "curl_easy_perform")
    GML_RESOLVE(easy_strerror, "curl_easy_strerror")
    GML_RESOLVE(slist_append, "curl_slist_append")
    GML_RESOLVE(slist_free_all, "curl_slist_free_all")
    GML_RESOLVE(version, "curl_version")
    GML_RESOLVE(version_info, "curl_version_info")
#undef GML_RESOLVE
    return NULL;
}

static inline CURLcode gml_curl_global_init(long flags) { return gml_curl.global_init(flags); }
static inline CURL *gml_curl_easy_init(void) { return gml_curl.easy_init(); }
static inline void gml_curl_easy_cleanup(CURL *h) { gml_curl.easy_cleanup(h); }
static inline CURLcode gml_curl_easy_perform(CURL *h) { return gml_curl.easy_perform(h); }
static inline const char *gml_curl_easy_strerror(CURLcode c) { return gml_curl.easy_strerror(c); }
static inline struct curl_slist *gml_curl_slist_append(struct curl_slist *l, const char *s) { return gml_curl.slist_append(l, s); }
static inline void gml_curl_slist_free_all(struct curl_slist *l) { gml_curl.slist_free_all(l); }
static inline const char *gml_curl_version(void) { return gml_curl.version(); }
/// The loaded libcurl's version as 0xXXYYZZ (7.85.0 is 0x075500).
static inline unsigned int gml_curl_version_num(void) { return gml_curl.version_info(CURLVERSION_NOW)->version_num; }
/// Restricts a transfer and its redirects to HTTP and HTTPS with the bitmask options, for libcurl before
/// 7.85 (which has no CURLOPT_PROTOCOLS_STR); by number, as the names are deprecated in newer headers.
static inline CURLcode gml_curl_restrict_protocols_bitmask(CURL *h) {
    long http = (1 << 0) | (1 << 1); /* CURLPROTO_HTTP | CURLPROTO_HTTPS */
    CURLcode code = gml_curl.easy_setopt(h, (CURLoption)181 /* CURLOPT_PROTOCOLS */, http);
    if (code != CURLE_OK) return code;
    return gml_curl.easy_setopt(h, (CURLoption)182 /* CURLOPT_REDIR_PROTOCOLS */, http);
}

static inline CURLcode gml_curl_set_long(CURL *h, CURLoption o, long v) { return gml_curl.easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_string(CURL *h, CURLoption o, const char *v) { return gml_curl.easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_pointer(CURL *h, CURLoption o, void *v) { return gml_curl.easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_offset(CURL *h, CURLoption o, curl_off_t v) { return gml_curl.easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_write(CURL *h, CURLoption o, gml_curl_write_cb v) { return gml_curl.easy_setopt(h, o, v); }
static inline CURLcode gml_curl_get_long(CURL *h, CURLINFO i, long *v) { return gml_curl.easy_getinfo(h, i, v); }
