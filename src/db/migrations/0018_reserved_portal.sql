-- PLACEHOLDER kept only on branch h-portal so that 0020 applies without a gap while 0018 and 0019
-- are on other branches. The lead drops this file when merging.
SELECT 1;
