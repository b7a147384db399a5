-- wrk script for bench/gateway.py: POSTs article_read events for 5,000 different users.
-- wrk.format replaces wrk.headers when given headers, so the -H ones are copied in.
counter = 0
request = function()
  counter = counter + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  local body = string.format('{"user_id": "user-%d", "event_type": "article_read"}', counter % 5000)
  return wrk.format("POST", nil, headers, body)
end
