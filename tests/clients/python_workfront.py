"""python-workfront 0.8 against `jrnle-audit simulate`, used as its documentation shows: a
Session with an API key, search for JournalEntry objects (page by page, sorted), load by id,
and a plain request for the count. Prints one JSON object on stdout for
tests/integration/clients.rs to check.

Usage: python python_workfront.py URL API_KEY
"""
import json
import sys

from workfront import Session
from workfront.session import WorkfrontAPIError


def main():
    url, api_key = sys.argv[1:3]
    # The default api_version, 'unsupported', reaches /attask/api/unsupported.
    session = Session("sim", api_key=api_key, url_template=url + "/attask/api/{api_version}")
    api = session.api
    count = session.get("/JRNLE/count")["count"]
    rows = []
    first = 0
    while True:
        page = session.search(
            api.JournalEntry,
            fields=["*", "editedBy:name"],
            **{"entryDate_1_Sort": "asc", "ID_2_Sort": "asc", "$$FIRST": first, "$$LIMIT": 100},
        )
        rows.extend(dict(obj.fields, ID=obj.id) for obj in page)
        if len(page) < 100:
            break
        first += 100
    loaded = session.load(api.JournalEntry, rows[0]["ID"], fields=["fieldName"]) if rows else None
    refused = None
    try:
        Session("sim", api_key="not-the-key", url_template=url + "/attask/api/{api_version}").get(
            "/JRNLE/count"
        )
    except WorkfrontAPIError as e:
        refused = {"status": e.code, "message": e.data.get("message")}
    got = None if loaded is None else dict(loaded.fields, ID=loaded.id)
    print(json.dumps({"count": count, "rows": rows, "got": got, "refused": refused}))


if __name__ == "__main__":
    main()
