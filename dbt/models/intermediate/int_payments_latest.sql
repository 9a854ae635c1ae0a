-- One row per payment: its latest state (a failed charge may be retried under the same payment id).
select *
from {{ ref('stg_bronze__payments') }}
qualify row_number() over (partition by payment_id order by event_time desc, event_id desc) = 1
