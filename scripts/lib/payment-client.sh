# shellcheck shell=bash
# The two calls a course platform and a payment platform make to order-service, as shell
# functions for scripts/demo and scripts/compose-check. Source it; do not run it. Needs curl,
# openssl, base64, sed, sort, paste; pn_die from lib/common.sh.

# Orders one course selection through the order API (POST /orders on the internal listener)
# and prints the order's payNo. Args: api_url token user_id selection_id amount name.
pn_order_selection() {
  local api_url="$1" token="$2" user_id="$3" id="$4" amount="$5" name="$6" order pay_no
  order=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            "$api_url/orders" -d @- <<JSON
{"userId":"$user_id","outBusinessId":"$id","orderType":"60201","orderName":"$name",
 "orderDescrip":"$name","totalPrice":"$amount",
 "orderDetail":[{"goodsId":"$id","goodsType":"60201","goodsName":"$name","goodsPrice":$amount}]}
JSON
) || pn_die "POST $api_url/orders failed for selection $id"
  pay_no=$(sed -nE 's/.*"payNo":"?([0-9]+).*/\1/p' <<<"$order")
  [[ -n "$pay_no" ]] || pn_die "order API answered without a payNo for selection $id"
  printf '%s\n' "$pay_no"
}

# Plays the payment platform: sends order-service's public listener a TRADE_SUCCESS
# notification for pay_no, signed RSA2 with the platform's private key, and prints the
# answer ("success" when accepted). Args: order_url private_key app_id pay_no amount subject.
pn_notify_paid() {
  local order_url="$1" key="$2" app_id="$3" pay_no="$4" amount="$5" subject="$6"
  # The platform signs every parameter but sign/sign_type, sorted by name, as k=v&k=v.
  local -A p=(
    [app_id]="$app_id" [out_trade_no]="$pay_no" [trade_no]="PN$pay_no"
    [trade_status]="TRADE_SUCCESS" [total_amount]="$amount" [notify_type]="trade_status_sync"
    [notify_time]="$(date '+%Y-%m-%d %H:%M:%S')" [charset]="utf-8" [version]="1.0"
    [subject]="$subject"
  )
  local content sign k
  content=$(for k in "${!p[@]}"; do printf '%s=%s\n' "$k" "${p[$k]}"; done | LC_ALL=C sort | paste -sd '&')
  sign=$(printf '%s' "$content" | openssl dgst -sha256 -sign "$key" | base64 -w0)
  local -a args=()
  for k in "${!p[@]}"; do args+=(--data-urlencode "$k=${p[$k]}"); done
  curl -sS "$order_url/orders/paynotify" "${args[@]}" \
    --data-urlencode "sign_type=RSA2" --data-urlencode "sign=$sign"
}
