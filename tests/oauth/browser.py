#!/usr/bin/env python3
"""tests/oauth/browser.py URL LOGIN - what a person does in the browser for
the OAuth tests: opens URL (the device verification page, or the
authorization request the tool printed), and submits each page's form in
turn (the device code confirmation, the login form with LOGIN, the consent
form), following redirects with cookies, until a page has no form: the
provider's success page, or the tool's loopback redirect page. Exits 0 then
(printing the last page's first line), 1 when a page says something went
wrong or after 10 pages. Every request goes to loopback only."""
import html
import html.parser
import re
import http.cookiejar
import sys
import urllib.parse
import urllib.request


class Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []          # [{id, action, method, fields: [(name, value)]}]
        self.cur = None
        self.loose = []          # inputs/buttons outside a form, with form="id"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.cur = {"id": a.get("id"), "action": a.get("action", ""),
                        "method": a.get("method", "get").lower(), "fields": [], "submit": None}
            self.forms.append(self.cur)
        elif tag in ("input", "button"):
            name = a.get("name")
            kind = a.get("type", "submit" if tag == "button" else "text")
            target = self.cur
            if a.get("form"):
                target = next((f for f in self.forms if f["id"] == a["form"]), None)
                if target is None:
                    self.loose.append((a["form"], a))
                    return
            if target is None:
                return
            if kind == "submit":
                if name == "abort":
                    return
                if target["submit"] is None:
                    target["submit"] = (name, a.get("value", ""))
                return
            if name:
                target["fields"].append((name, a.get("value", ""), kind))

    def handle_endtag(self, tag):
        if tag == "form":
            self.cur = None


def main():
    url, login = sys.argv[1], sys.argv[2]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    data = None
    for _ in range(10):
        host = urllib.parse.urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            print("browser: refusing a non-loopback address: " + url, file=sys.stderr)
            return 1
        with opener.open(url, data=data, timeout=20) as r:
            page = r.read().decode("utf-8", "replace")
            url = r.geturl()
        p = Forms()
        p.feed(page)
        forms = [f for f in p.forms if f["method"] == "post"]
        if not forms:
            title = re.search(r"<title>(.*?)</title>", page, re.S | re.I)
            body = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", page, flags=re.S | re.I)
            text = " ".join(html.unescape((title.group(1) + ": " if title else "") + body).split())[:200]
            print("browser: last page: " + text)
            bad = ("error" in text.lower() and "success" not in text.lower()) or \
                  "not authorized" in text.lower()
            return 1 if bad else 0
        f = forms[0]
        fields = []
        for name, value, kind in f["fields"]:
            if name == "login":
                value = login
            elif name == "password":
                value = "any"
            fields.append((name, value))
        if f["submit"] and f["submit"][0]:
            fields.append(f["submit"])
        url = urllib.parse.urljoin(url, f["action"])
        data = urllib.parse.urlencode(fields).encode()
    print("browser: too many pages", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
