-- SAJ's staging macros (loaded before every file of sql/staging/saj/ and sql/conformed/saj/).

-- The answers of `ep` in the raw table `raw` that are data: HTTP 200, SAJ's success codes (200, or 0 on the
-- alarm endpoints and the errCode envelopes), a body that is JSON (parsed once, as `j`). Everything else stays
-- in the raw layer only (for instance secData's 10021 for a plant without a load monitor).
CREATE OR REPLACE TEMP MACRO saj_answers(raw, ep) AS TABLE
SELECT r.*, r.body::JSON AS j
FROM query_table(raw) AS r
WHERE r.endpoint = ep AND r.http_status = 200 AND r.api_code IN (0, 200) AND json_valid(r.body);

-- The answers of `ep` about one plant whose `data` is JSON of the type `data_type` ('OBJECT', 'ARRAY'): the plant
-- (the lake row's plant_id, else the request's plantId), when the answer was fetched, the request's parameters
-- and its `data`.
CREATE OR REPLACE TEMP MACRO saj_plant_data(raw, ep, data_type) AS TABLE
SELECT coalesce(r.plant_id, r.request_params::JSON ->> 'plantId') AS plant_id, r.fetched_at, r.request_params,
       r.j -> 'data' AS data
FROM saj_answers(raw, ep) AS r
WHERE json_type(r.j, '$.data') = data_type;
