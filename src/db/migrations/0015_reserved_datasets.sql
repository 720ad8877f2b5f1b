-- PLACEHOLDER kept only on branch h-query so that 0017 applies without a gap while 0015 and 0016
-- are on other branches (the datasets domain, the extract). The lead drops this file when merging.
SELECT 1;
