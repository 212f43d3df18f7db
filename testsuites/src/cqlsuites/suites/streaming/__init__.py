"""streaming: results larger than a page, read as aiocql streams.

Pages never exceed the page size, callbacks see every page, ``max_pages`` and paging states stop
and resume a stream exactly, many streams run at once without mixing rows, an abandoned stream
stops fetching, and a large result (``rows`` param) is read with the process's memory held flat:
the growth of its resident set is measured and bounded by ``rssGrowthMiB``.
"""
