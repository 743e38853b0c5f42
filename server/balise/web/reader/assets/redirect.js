(function(){
var a=document.getElementById("go");if(!a)return;
var d=parseInt(a.getAttribute("data-delay"),10)||0;
if(d<=0){location.replace(a.href);return}
var box=document.getElementById("countdown"),out=document.getElementById("countdown-text"),
live=document.getElementById("announce"),stay=document.getElementById("stay"),
summary=document.querySelector(".summary"),end=Date.now()+d*1000,timer=0;
function say(n){return box.getAttribute("data-tick").replace("{n}",n)}
function tick(){
var ms=end-Date.now();
if(ms<=0){timer=0;location.replace(a.href);return}
out.textContent=say(Math.ceil(ms/1000));
timer=setTimeout(tick,ms%1000||1000)}
function pause(){
if(!timer)return;
clearTimeout(timer);timer=0;
var text=box.getAttribute("data-paused");
out.textContent=text;live.textContent=text;
box.className+=" paused";
if(document.activeElement===stay)box.focus();
stay.hidden=true}
stay.hidden=false;
stay.addEventListener("click",pause);
if(summary){
["pointerdown","focusin","selectstart"].forEach(function(e){summary.addEventListener(e,pause)})}
["wheel","touchmove","scroll"].forEach(function(e){window.addEventListener(e,pause,{passive:true})});
window.addEventListener("keydown",function(e){if(e.target!==a&&/^(Arrow|Page|Home|End| )/.test(e.key))pause()});
live.textContent=say(d);
tick()})();
