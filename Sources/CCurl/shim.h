#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic; Swift calls these typed wrappers instead.
typedef size_t (*gml_curl_write_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode gml_curl_set_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_offset(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode gml_curl_set_write(CURL *h, CURLoption o, gml_curl_write_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode gml_curl_get_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode gml_curl_get_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
