"""The local search index: SQLite FTS5 over a folder of documents or a JSONL corpus, for
air-gapped installs and tests. `build_index` makes or refreshes it; `LocalIndexProvider`
searches it.

It holds images too, for `web_search_image` (`LocalIndexProvider.search_images`), indexed in
FTS5 beside the documents (`image_records`): every `![alt text](src "title")` of a Markdown
file and its front-matter `image:` (found by the alt text and the page's title; a relative
`src` resolved against the page's `url:`), and every JSONL line with an `image_url`:
`{"image_url": "https://…/cat.jpg", "title": "<alt text>", "url"?: "<page>", "content"?:
"<more words to find it by>"}`. An index without any image fails image searches, saying so."""

from openscope.tools.web_search.local_index.build import BuildReport, build_index
from openscope.tools.web_search.local_index.provider import LocalIndexProvider

__all__ = ["BuildReport", "LocalIndexProvider", "build_index"]
