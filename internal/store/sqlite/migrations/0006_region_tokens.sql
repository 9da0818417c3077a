-- Control regions are independent, as in the service: a ClientRequestToken
-- names one active meeting per account and region, and the same index
-- counts an account's active meetings in a region.
DROP INDEX meetings_token;
CREATE UNIQUE INDEX meetings_token ON meetings (account_id, api_region, client_request_token) WHERE ended_at IS NULL;
