# fish completion for shifty-ent (generated; do not edit)
function __shifty_ent_path
    set -l words (commandline -opc)
    set -e words[1]
    set -l path ""
    set -l skip 0
    set -l valued --alias --as --base --batch-size --checkpoint --classification --confidence --config --cooldown --count --data-root --dataset --db --description --dir --disk --end --endpoint --epochs --expiring-within --fingerprint --format --gold --gpu-hourly-budget --gpu-monthly-budget --gpu-type --group-by --host --hourly --identity --image --instance --label --label-field --labels --learning-rate --limit --location --lora-r --max --max-files --max-length --max-price --max-steps --max-tokens --method --metric --min --min-agreement --min-gold --mission-type --model --monthly --name --notes --notify-days --option --options --out --output --output-field --output-name --overlap --payload --policy --poll --poll-interval --public-key --reason --region --replicas --retention-days --revision --reward --role --sample --seed --sha256 --sig --size --source --source-id --start --state --status --subject --target-util --temperature --tenant --tenant-name --text-field --threads --timeout --timezone --to --ttl --type --witness --xp -c -f -o -r -t
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        if contains -- $w $valued
            set skip 1
            continue
        end
        if string match -q -- '-*' $w
            continue
        end
        set path (string trim -- "$path $w")
    end
    echo "$path"
end
complete -c shifty-ent -f
complete -c shifty-ent -n 'test (__shifty_ent_path) = ""' -a 'init config db tenant user admin gpu model data arcade report quickstart'
complete -c shifty-ent -n 'test (__shifty_ent_path) = ""' -l as -l db -l debug -l help -l json -l output -l quiet -l tenant -l version
complete -c shifty-ent -n 'test (__shifty_ent_path) = "admin"' -a 'add list remove'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "admin"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "admin add"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "admin list"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "admin remove"' -l help -l yes
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade"' -a 'assign complete dataset grant leaderboard mission missions next play profile release stats types'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade assign"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade complete"' -l confidence -l help -l notes -l option
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade dataset"' -a 'create list'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade dataset"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade dataset create"' -l description -l help -l min-agreement -l mission-type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade dataset list"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade grant"' -l help -l reason -l xp
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade leaderboard"' -l help -l limit -l min-gold -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission"' -a 'cancel create import list show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission cancel"' -l help -l reason
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission create"' -l classification -l gold -l help -l options -l overlap -l payload -l reward -l subject -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission import"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission list"' -l help -l limit -l status -l subject -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade mission show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade missions"' -l help -l limit -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade next"' -l help -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade play"' -l help -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade profile"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade release"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade stats"' -l end -l help -l start
complete -c shifty-ent -n 'test (__shifty_ent_path) = "arcade types"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "config"' -a 'show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "config"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "config show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data"' -a 'asset certificate delete export policy sweep vault workspace'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset"' -a 'hold ingest list register release restore show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset hold"' -l help -l reason
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset ingest"' -l classification -l help -l name -l policy -l subject -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset list"' -l all -l classification -l expiring-within -l help -l status -l subject
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset register"' -l classification -l help -l location -l max-files -l no-hash -l policy -l sha256 -l size -l subject -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset release"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset restore"' -l help -l reason -l to
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data asset show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data certificate"' -a 'export list show verify'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data certificate"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data certificate export"' -l force -l help -l out
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data certificate list"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data certificate show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data certificate verify"' -l help -l public-key
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete"' -a 'approve cancel execute list request show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete approve"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete cancel"' -l help -l reason
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete execute"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete list"' -l help -l status
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete request"' -l help -l include-archives -l method -l reason -l subject
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data delete show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data export"' -l force -l help -l out -l subject
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy"' -a 'create delete list show update'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy create"' -l archive-before-delete -l auto-approve -l auto-delete -l classification -l help -l method -l notify-days -l retention-days
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy delete"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy list"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data policy update"' -l archive-before-delete -l auto-approve -l auto-delete -l classification -l dry-run -l help -l method -l no-archive-before-delete -l no-auto-approve -l no-auto-delete -l notify-days -l retention-days -l yes
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data sweep"' -l dry-run -l help -l host
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data vault"' -a 'rotate-key'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data vault"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data vault rotate-key"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data workspace"' -a 'create destroy list show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data workspace"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data workspace create"' -l classification -l help -l method -l name -l size -l ttl -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data workspace destroy"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data workspace list"' -l all -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "data workspace show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db"' -a 'check current upgrade'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db check"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db current"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db upgrade"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu"' -a 'autoscale budget charges costs health list offers provision reconcile status terminate types'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu autoscale"' -a 'clear set show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu autoscale"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu autoscale clear"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu autoscale set"' -l checkpoint -l cooldown -l disk -l help -l max -l max-price -l min -l region -l target-util -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu autoscale show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu budget"' -a 'set show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu budget"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu budget set"' -l help -l hourly -l monthly
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu budget show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu charges"' -l end -l help -l start
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu costs"' -l end -l group-by -l help -l start
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu health"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu list"' -l help -l refresh -l state
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu offers"' -l count -l disk -l help -l limit -l max-price -l region -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu provision"' -l count -l disk -l help -l image -l max-price -l model -l poll-interval -l region -l timeout -l type -l wait
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu reconcile"' -l adopt -l dry-run -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu status"' -l help -l refresh
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu terminate"' -l help -l yes
complete -c shifty-ent -n 'test (__shifty_ent_path) = "gpu types"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "init"' -l help -l identity
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model"' -a 'alias approval deploy deployments eval list promote register rollback show train undeploy versions'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model alias"' -a 'history rollback set'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model alias"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model alias history"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model alias rollback"' -l alias -l help -l reason -l to
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model alias set"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model approval"' -a 'request'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model approval"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model approval request"' -l alias -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model deploy"' -l gpu-type -l help -l instance -l max-price -l replicas
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model deployments"' -l all -l check -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model eval"' -a 'human list record run'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model eval"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model eval human"' -l dataset -l help -l output-field -l sample -l seed -l text-field
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model eval list"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model eval record"' -l dataset -l help -l metric -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model eval run"' -l dataset -l endpoint -l help -l label-field -l labels -l limit -l text-field
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model list"' -l alias -l help -l latest -l limit -l name -l source
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model promote"' -l alias -l help -l override -l reason
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model register"' -l classification -l config -l description -l help -l max-tokens -l pull -l revision -l source -l source-id -l temperature
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model rollback"' -l alias -l help -l reason -l to
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train"' -a 'attach cancel list run show start'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train attach"' -l help -l poll
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train cancel"' -l force -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train list"' -l help -l limit -l status
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train run"' -l help -l next -l threads
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model train start"' -l base -l batch-size -l dataset -l epochs -l full -l help -l instance -l learning-rate -l lora-r -l max-length -l max-price -l max-steps -l on-gpu -l output-name -l poll -l threads -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model undeploy"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "model versions"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "quickstart"' -l dir -l help -l tenant-name -l use-store
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report"' -a 'arcade audit compliance costs list trust verify'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report arcade"' -l end -l force -l format -l help -l out -l start
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit"' -a 'checkpoint verify'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit checkpoint"' -l help -l witness
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit verify"' -l checkpoint -l help -l witness
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report compliance"' -l end -l force -l format -l help -l out -l start -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report costs"' -l end -l force -l format -l help -l out -l start
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report list"' -l help -l limit -l type
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report trust"' -a 'add list remove'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report trust"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report trust add"' -l help -l label
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report trust list"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report trust remove"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report verify"' -l fingerprint -l help -l public-key -l sig
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant"' -a 'create list root show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant create"' -l data-root -l gpu-hourly-budget -l gpu-monthly-budget -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant list"' -l all -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant root"' -a 'add list remove'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant root"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant root add"' -l help -l tenant
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant root list"' -l help -l removed -l tenant
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant root remove"' -l help -l host -l tenant
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user"' -a 'add list remove'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user add"' -l help -l role -l timezone
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user list"' -l help -l removed
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user remove"' -l help -l yes
