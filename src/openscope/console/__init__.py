"""The web console served by openscope itself: static pages and their routes."""
